"""The person's dashboard in Chromium: a hand-off link, withdrawing marketing, giving a separate
consent after reading its card, switching to English; after each step the API's decision for
that purpose has changed. With and without JavaScript, by keyboard alone, and with no serious
accessibility violation on any page."""

from __future__ import annotations

import re

from tests.browser.conftest import axe_violations

PAGES = [
    "/dashboard/",
    "/dashboard/history",
    "/dashboard/?lang=en",
    "/dashboard/requests",
    "/dashboard/requests/new",
    "/dashboard/requests/new?type=correction",
]


def card(page, code: str):
    return page.locator(f"#p-{code}")


def test_a_person_withdraws_gives_a_separate_consent_and_switches_language(page, person):
    page.goto(person.link())
    assert page.locator("h1").inner_text() == "我的授权"
    assert person.allowed("marketing")
    card(page, "marketing").get_by_role("button", name="撤回同意").click()
    page.wait_for_url(re.compile(r"/dashboard/"))
    assert page.get_by_role("status").inner_text() == "已撤回您的同意。"
    assert not person.allowed("marketing")

    face = card(page, "face")
    assert "需要您单独同意的原因" in face.inner_text() and "个人生物识别信息" in face.inner_text()
    assert not person.allowed("face")
    face.get_by_role("button", name=re.compile("我单独同意")).click()
    assert page.get_by_role("status").inner_text() == "已记录您的同意。"
    assert person.allowed("face")

    page.get_by_role("link", name="English").click()
    assert page.locator("h1").inner_text() == "My consents"
    assert card(page, "face").get_by_role("button", name="Withdraw consent").is_visible()
    page.get_by_role("link", name="History").click()
    assert page.locator("h1").inner_text() == "History"
    assert page.locator("tbody tr").count() == 3  # the app's grant, the withdrawal, the separate grant

    page.get_by_role("link", name="My requests").click()
    page.get_by_role("link", name=re.compile("Make a request")).first.click()
    assert page.locator("h1").inner_text() == "Make a request"
    page.get_by_role("radio", name=re.compile("^Delete my information")).check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Send the request").click()
    # 15 working days from Monday 2026-11-02 (the clock of the test): Monday 2026-11-23.
    due = page.locator("dt:has-text('Due by') + dd").inner_text()
    assert due == "November 23, 2026"
    assert person.requests() == [("deletion", "in_progress")]


def _tab_to(page, name: str, limit: int = 80) -> None:
    """Press Tab until the focused element is the control called ``name`` (a radio button:
    ``radio``)."""
    page.wait_for_load_state("load")
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return e.type === 'radio' ? 'radio' : (e.innerText || e.value || '').trim(); }"
        )
        if focused == name:
            return
    raise AssertionError(f"{name!r} cannot be reached with the keyboard")


def _enter(page) -> None:
    """Press Enter on the focused link or button and wait for the page it leads to."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_the_same_by_keyboard_alone(browser, person):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(person.link())
        _tab_to(page, "撤回同意")  # the first on the page is marketing's
        _enter(page)
        assert not person.allowed("marketing")
        _tab_to(page, "我单独同意“face 中文”")
        _enter(page)
        assert person.allowed("face")
        _tab_to(page, "撤回同意")  # face's, now given
        outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"  # focus is visible
        _tab_to(page, "English")
        _enter(page)
        page.wait_for_selector("h1:has-text('My consents')")
        _tab_to(page, "My requests")
        _enter(page)
        _tab_to(page, "Make a request")
        _enter(page)
        page.wait_for_selector("h1:has-text('Make a request')")
        _tab_to(page, "radio")  # the first of the group
        for _ in range(4):  # see, copy, transfer, correct: the fifth is deletion
            page.keyboard.press("ArrowDown")
        assert page.evaluate("() => document.activeElement.value") == "deletion"
        _tab_to(page, "Continue")
        _enter(page)
        _tab_to(page, "Send the request")
        _enter(page)
        assert page.locator("dt:has-text('Due by') + dd").inner_text() == "November 23, 2026"
        assert person.requests() == [("deletion", "in_progress")]
    finally:
        context.close()


def test_no_page_has_a_serious_accessibility_violation(browser, person):
    slug = person.tenant.slug
    request_id = person.make_request("correction")
    pages = [
        *PAGES,
        f"/dashboard/requests/{request_id}",
        f"/dashboard/sign-in?org={slug}",
        "/dashboard/sign-in/code",
        f"/o/{slug}/policy",
        f"/o/{slug}/policies",
        "/",
        "/dashboard/signed-out",
    ]
    assert axe_violations(browser, person, pages) == {path: [] for path in pages}


def test_every_page_fits_a_360_px_screen(browser, person):
    context = browser.new_context(locale="zh-CN", viewport={"width": 360, "height": 740})
    page = context.new_page()
    try:
        page.goto(person.link())
        for path in PAGES:
            page.goto(person.server.url + path)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 360, (path, width)
    finally:
        context.close()
