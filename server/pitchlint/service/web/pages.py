"""The team lead's pages (placeholder: being written)."""
from flask import Blueprint

bp = Blueprint("web", __name__)


@bp.get("/signin")
def signin():
    return "sign in"
