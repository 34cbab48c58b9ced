"""flashcards: compile question/answer YAML into Anki decks."""

__version__ = "0.1.0"
