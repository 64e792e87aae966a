"""Error pages in Swedish. A forbidden case answers 404, so existence is not revealed."""

from __future__ import annotations

from flask import Flask, render_template
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


def register(app: Flask) -> None:
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

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> ResponseReturnValue:
        code = error.code or 500
        title, message = MESSAGES.get(code, (error.name, error.description or ""))
        return render_template("error.html", title=title, message=message), code
