"""`uvicorn server.asgi:app`: the application built from the environment's settings."""

from server.app import create_app
from server.settings import get_settings

app = create_app(get_settings())
