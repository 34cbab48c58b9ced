"""`flashcards import`: adopt notes from Anki (a package or a collection) as deck files.

A pipeline of small stages, I/O at the ends:

    read (an .apkg/.colpkg through Anki's own importer into a scratch collection, or a
    collection opened as it is) -> notetypes (recognise stock notetypes by structure)
    -> convert (each field: Markdown where it renders back to the same HTML, else HTML)
    -> plan (deck files, media, what is left out and why; pure)
    -> write (new files only, all or nothing) -> report (text and JSON)

takeover.py is the other end of the journey, `push --adopt`: it changes adopted notes to our
notetypes, keeping note ids, card ids, scheduling and review history.

`anki` is imported only inside read.py and takeover.py, and only when they run.
"""
