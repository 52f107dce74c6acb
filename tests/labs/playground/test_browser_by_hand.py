"""Browser journey through the Playground's step by hand, in a real `streamlit run app.py` and
Debian's Chromium: open the section, go through Forward, Loss, Backward, Update and Next step,
and see the diagram's title, its numbers and the words under it change at each; then the same
on an 800 px wide window. Screenshots go to test-artifacts/ (by_hand_*.png). The fixtures
`streamlit_server` and `new_page` are in tests/conftest.py."""

from __future__ import annotations

import re

import pytest
from support.browser import (
    UI_MS,
    Steps,
    layout_problems,
    main_text,
    open_playground,
    report_failure,
    screenshot,
    trace_field,
    wait_for_chart_title,
    wait_for_main_text,
    wait_idle,
    wait_settled,
)

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

SECTION = "Step by hand: one training step of a tiny network, every number"


def open_section(page) -> None:
    page.get_by_text(SECTION).click()
    wait_for_chart_title(page, "Before the first step: the weights")


def press(page, label: str, title: str) -> str:
    """Press the section's button `label`; wait for the diagram's title to start with `title`."""
    button = page.locator(".st-key-row_pg_bh_buttons").get_by_role("button", name=label, exact=True)
    expect(button).to_be_enabled(timeout=UI_MS)
    button.click()
    return wait_for_chart_title(page, title, timeout=UI_MS)


def choose(page, key: str, option: str) -> None:
    """Choose `option` in the select box under Streamlit key `key`."""
    wait_idle(page)
    box = page.locator(f".st-key-{key}").get_by_role("combobox")
    box.evaluate("e => e.scrollIntoView({block: 'center'})")  # a scroll closes an open list
    page.wait_for_timeout(300)
    box.click()
    page.get_by_role("option", name=option, exact=True).click()


def numbers(page) -> list[str]:
    """Every number written on the diagram: its connections' and its neurons'."""
    texts = trace_field(page, "pg_bh_diagram", "text")
    return [t for trace in texts if isinstance(trace, list) for t in trace if t]


def show_section(page) -> None:
    """Scroll the section's buttons to the top of the window: the diagram, the words and the
    table under them in view for a screenshot."""
    wait_settled(page, seconds=0.5)
    page.locator(".st-key-row_pg_bh_buttons").evaluate("e => e.scrollIntoView({block: 'start'})")
    wait_settled(page, seconds=0.3)


@report_failure
def test_one_step_by_hand(streamlit_server, new_page):
    step = Steps()
    page = new_page(viewport={"width": 1400, "height": 1500})
    step("the Playground, then the step-by-hand section")
    open_playground(page, streamlit_server.url, via_home=False)
    open_section(page)
    expect(page.get_by_text("Press Forward to run the batch")).to_be_visible()
    before = numbers(page)

    step("Forward: each neuron's z and a")
    press(page, "Forward", "Step 1, forward: sample 1 of 4 (class 0)")
    forward = numbers(page)
    assert any(t.startswith("z=") for t in forward) and any(t.startswith("a=") for t in forward)
    assert re.search(r"z\(h1\) = w\(x1→h1\) × x1 \+ w\(x2→h1\) × x2 \+ b\(h1\) = ", main_text(page))

    step("Loss: softmax, each sample's -log p, their mean")
    press(page, "Loss", "Step 1, loss")
    loss = float(wait_for_main_text(page, r"Loss L = \([^)]*\) / 4 = [-\d.e]+").split("= ")[-1])
    assert 0 < loss < 5
    assert any(t.endswith("(true)") for t in numbers(page))
    show_section(page)
    screenshot(page, "by_hand_loss_1400")

    step("Backward: gradients on the diagram, the chain rule written out")
    press(page, "Backward", "Step 1, backward")
    backward = numbers(page)
    assert any(t.startswith("∂L/∂z=") for t in backward) and backward != forward
    chain = wait_for_main_text(page, r"over the batch: ∂L/∂w\(x1→h1\) = [^\n]* = [-\d.e]+")
    autograd = wait_for_main_text(page, r"autograd's gradient of w\(x1→h1\): [-\d.e]+")
    assert chain.split("= ")[-1] == autograd.split(": ")[-1]
    show_section(page)
    screenshot(page, "by_hand_backward_1400")

    step("Update: the weights after the step, in the diagram and the table")
    press(page, "Update", "Step 1, update: the weights after it")
    after = numbers(page)
    assert after != before  # the connections now carry the new weights
    expect(page.locator('[data-testid="stDataFrame"]').last).to_be_visible()
    wait_for_main_text(page, r"w\(x1→h1\) ← [-\d.e]+ - 0\.1 × \(?[-\d.e]+\)? = [-\d.e]+")
    show_section(page)
    screenshot(page, "by_hand_update_1400")
    assert not layout_problems(page), layout_problems(page)

    step("Next step: the same batch through the new weights, the loss falls")
    press(page, "Next step", "Step 2, forward")
    assert numbers(page) != forward
    press(page, "Loss", "Step 2, loss")
    second = float(wait_for_main_text(page, r"Loss L = \([^)]*\) / 4 = [-\d.e]+").split("= ")[-1])
    assert second < loss
    wait_for_main_text(page, r"\(step 1\), [-\d.e]+ \(step 2\)")

    step("Adam: its moments in the update")
    choose(page, "pg_bh_optimizer", "Adam")
    wait_for_chart_title(page, "Before the first step", timeout=UI_MS)
    for label, title in [("Forward", "Step 1, forward"), ("Loss", "Step 1, loss"),
                         ("Backward", "Step 1, backward"), ("Update", "Step 1, update")]:  # fmt: skip
        press(page, label, title)
    wait_for_main_text(page, r"m̂ = m / \(1 - 0\.9\^1\) = [-\d.e]+")
    show_section(page)
    screenshot(page, "by_hand_adam_1400")

    step("Reset: back to the initial weights")
    page.locator(".st-key-pg_bh_reset").get_by_role("button").click()
    wait_for_chart_title(page, "Before the first step", timeout=UI_MS)


@report_failure
def test_one_step_by_hand_on_a_narrow_window(streamlit_server, new_page):
    step = Steps()
    page = new_page(viewport={"width": 800, "height": 1600})
    step("800 px: the section's settings wrap, the diagram keeps its numbers")
    open_playground(page, streamlit_server.url, via_home=False)
    open_section(page)
    press(page, "Forward", "Step 1, forward")
    press(page, "Loss", "Step 1, loss")
    press(page, "Backward", "Step 1, backward")
    assert any(t.startswith("∂L/∂a=") for t in numbers(page))
    show_section(page)
    screenshot(page, "by_hand_backward_800")
    assert not layout_problems(page), layout_problems(page)

    step("2-4-4-2: a new network, 32 numbers on its connections")
    choose(page, "pg_bh_size", "2-4-4-2")
    wait_for_chart_title(page, "Before the first step", timeout=UI_MS)
    press(page, "Forward", "Step 1, forward")
    assert sum(t.startswith("a=") for t in numbers(page)) == 8
    press(page, "Loss", "Step 1, loss")
    press(page, "Backward", "Step 1, backward")
    show_section(page)
    screenshot(page, "by_hand_deep_backward_800")
    assert not layout_problems(page), layout_problems(page)
