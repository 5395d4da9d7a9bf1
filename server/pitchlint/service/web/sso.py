"""Microsoft and Google sign-in (placeholder: being written)."""
from flask import Blueprint

bp = Blueprint("sso", __name__)
