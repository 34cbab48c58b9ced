from flashcards.launch import run

run()
