"""The annotation domain: masklets and their revisions, tasks, interactions, reviews, model versions."""
