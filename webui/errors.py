"""Error pages in Swedish. A forbidden case answers 404, so existence is not revealed."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: ("Felaktig begäran", "Uppgifterna kunde inte tas emot. Gå tillbaka och försök igen."),
    403: ("Åtkomst nekad", "Du har inte behörighet till sidan."),
    404: ("Sidan finns inte", "Sidan finns inte, eller så har du inte behörighet att se den."),
    405: ("Otillåten metod", "Sidan kan inte användas på det sättet."),
    413: ("För mycket data", "Det du skickade var för stort."),
    429: ("För många försök", "Vänta en stund och försök igen."),
    500: ("Något gick fel", "Ett oväntat fel inträffade. Inget har sparats."),
}


log = logging.getLogger("sip_engine.web")


def register(app: Flask) -> None:
    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> ResponseReturnValue:
        if isinstance(error, HTTPException):
            return _http(error)
        # Never the message or the URL: both can carry a name or a personnummer (a search
        # query, a database error's DETAIL). The type, endpoint and SQLSTATE are enough to
        # find the fault; the database itself holds the data.
        orig = getattr(error, "orig", None)
        log.error(
            "unhandled %s in %s %s (sqlstate=%s)",
            type(error).__name__,
            request.method,
            request.endpoint,
            getattr(orig, "sqlstate", None),
        )
        title, message = MESSAGES[500]
        return render_template("error.html", title=title, message=message), 500

    @app.errorhandler(CSRFError)
    def _csrf(_error: CSRFError) -> ResponseReturnValue:
        return (
            render_template(
                "error.html",
                title="Formuläret har gått ut",
                message="Sidan var för gammal eller saknade säkerhetskod. "
                "Ladda om sidan och skicka igen. Inget har sparats.",
            ),
            400,
        )

    def _http(error: HTTPException) -> ResponseReturnValue:
        code = error.code or 500
        title, message = MESSAGES.get(code, (error.name, error.description or ""))
        return render_template("error.html", title=title, message=message), code

    app.register_error_handler(HTTPException, _http)
