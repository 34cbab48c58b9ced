"""`flashcards push`: apply a build straight to an Anki collection.

A pipeline like the build's, one module per stage, I/O at the ends:

    locate (which collection.anki2) -> session (open it with Anki's library; locked = stop)
    -> pipeline.build_for_push (the usual build, plus every card's HTML)
    -> state (what the collection holds of ours, and the record of the last push)
    -> plan (pure: build + state -> actions, learner edits kept, conflicts)
    -> apply (one SQLite transaction) -> report (text and JSON)

`anki` is imported only here and only when a push runs, so `flashcards build` never needs it.
"""
