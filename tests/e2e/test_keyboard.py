"""Keyboard only: signing in with Tab, typing and Enter, with the focus always visible."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..world import PASSWORD, World

if TYPE_CHECKING:
    from playwright.sync_api import Page

Expect = Callable[..., Any]

FOCUSED = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return {
        id: el.id,
        text: (el.innerText || el.value || '').trim().slice(0, 40),
        tag: el.tagName.toLowerCase(),
        focusVisible: el.matches(':focus-visible'),
        outlineStyle: style.outlineStyle,
        outlineWidth: parseFloat(style.outlineWidth),
        onScreen: box.width > 1 && box.height > 1 && box.right > 0 && box.bottom > 0
            && box.left < window.innerWidth && box.top < window.innerHeight,
    };
}"""


def focused(page: Page) -> dict[str, Any]:
    info: dict[str, Any] = page.evaluate(FOCUSED)
    return info


def assert_focus_visible(page: Page) -> dict[str, Any]:
    """The focused element shows a focus ring of at least 2 px and is on screen."""
    page.wait_for_load_state()  # the stylesheet draws the ring
    info = focused(page)
    assert info["tag"] != "body", "nothing has focus"
    assert info["focusVisible"], f"no :focus-visible on {info}"
    assert info["outlineStyle"] != "none" and info["outlineWidth"] >= 2, f"no focus ring: {info}"
    assert info["onScreen"], f"the focused element is off screen: {info}"
    return info


def tab_to(page: Page, target: str, *, key: str = "Tab", limit: int = 10) -> list[str]:
    """Press ``key`` until the element with id or text ``target`` has focus, checking the
    focus ring on every stop; returns the stops."""
    stops = []
    for _ in range(limit):
        page.keyboard.press(key)
        info = assert_focus_visible(page)
        stops.append(info["id"] or info["text"])
        if target in (info["id"], info["text"]):
            return stops
    raise AssertionError(f"{key} never reached {target}; focus went {stops}")


def test_sign_in_with_the_keyboard_only(page: Page, expect: Expect, world: World) -> None:
    page.goto("/logga-in")

    # The username field has focus from the start (autofocus) and shows it. The browser may
    # apply autofocus just after the load event on a busy machine: wait for it, then check.
    expect(page.get_by_label("Användarnamn")).to_be_focused()
    assert assert_focus_visible(page)["id"] == "username"

    # A wrong password first: the error is announced, and the form is ready again.
    page.keyboard.type(world.coordinator.username)
    page.keyboard.press("Tab")
    assert assert_focus_visible(page)["id"] == "password"
    page.keyboard.type("fel-lösenord")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_have_text("Fel användarnamn eller lösenord.")
    expect(page.get_by_label("Användarnamn")).to_be_focused()
    expect(page.get_by_label("Användarnamn")).to_have_value(world.coordinator.username)
    expect(page.get_by_label("Lösenord")).to_have_value("")

    # Back to the top of the page and Tab to the fields again: every stop shows its focus.
    assert tab_to(page, "Hoppa till innehållet", key="Shift+Tab") == [
        "English",
        "SIP-stöd",
        "Hoppa till innehållet",
    ]
    assert tab_to(page, "username") == ["SIP-stöd", "English", "username"]
    page.keyboard.press("Tab")
    assert assert_focus_visible(page)["id"] == "password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Mina ärenden")
    expect(page.get_by_role("button", name="Logga ut")).to_be_visible()


def test_skip_link_moves_focus_to_the_content(
    sign_in: Callable[..., Page], expect: Expect, world: World
) -> None:
    page = sign_in(world.coordinator.username)
    page.goto("/")
    page.keyboard.press("Tab")
    info = assert_focus_visible(page)
    assert info["text"] == "Hoppa till innehållet", info
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    # The next Tab continues inside the content, not back in the header.
    page.keyboard.press("Tab")
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")
    assert_focus_visible(page)
