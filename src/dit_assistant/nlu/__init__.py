"""Understanding a message: the Rasa NLU components of ``bot/config.yml`` and the spaCy pipeline.

- ``spacy_pipeline``: builds the local spaCy pipeline (tokenizer and lookup lemmatizer) that the
  NLU and the safety net share; no download needed.
- ``sentence_embeddings``: the sentence encoder (all-MiniLM-L6-v2) as dense features.
- ``intent_classifier``: Rasa's logistic regression, made safe for messages without features.
- ``intent_gate``: intents that are hard to undo (ending the form) need a confident classifier.
- ``message_guard``: a message without any words (emoji only, control characters) goes to the
  fallback before any classifier reads it.

The safety net (``dit_assistant.safety``) runs after these, so reviewed phrases win.
"""
