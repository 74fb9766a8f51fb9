"""Adapters that plug the memory tools into other frameworks (pydantic-ai, ...)."""
