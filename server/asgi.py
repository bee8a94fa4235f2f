"""`uvicorn server.asgi:app`: the application built from the environment's settings."""

from domain.settings import get_settings
from server.app import create_app

app = create_app(get_settings())
