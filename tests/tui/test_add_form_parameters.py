"""Messages of the add-node form's checks for positional-only parameters,
`**kwargs` and a forward of `auto` in lower case."""

from __future__ import annotations

from grafo_tui.screens.add_node_screen import parse_add_form


async def kwargs_only(**kw):
    return kw


async def pos_only(a, /, b):
    return a, b


async def pos_only_default(a=1, /, b=2):
    return a, b


async def no_parameters():
    return None


async def takes_value(value):
    return value


def check(function, *, kwargs_text: str = "{}", forward_text: str = ""):
    return parse_add_form(
        node_id="new",
        taken_ids=(),
        function=function,
        kwargs_text=kwargs_text,
        forward_text=forward_text,
        timeout_text="",
    )


def test_auto_into_kwargs_only_function():
    request, errors = check(kwargs_only, forward_text="AUTO")
    assert request is None
    assert "takes no named parameter" in errors["forward"]
    assert "(**kw)" in errors["forward"]
    assert "takes no parameters" not in errors["forward"]


def test_auto_into_function_without_parameters():
    _, errors = check(no_parameters, forward_text="AUTO")
    assert "no_parameters takes no parameters" in errors["forward"]


def test_lowercase_auto_gets_capitals_hint():
    for text in ("auto", "Auto", "aUTO"):
        request, errors = check(takes_value, forward_text=text)
        assert request is None
        assert f"no parameter {text!r}" in errors["forward"]
        assert "Write AUTO in capitals" in errors["forward"]


def test_unknown_forward_gets_no_capitals_hint():
    _, errors = check(takes_value, forward_text="missing")
    assert "Write AUTO" not in errors["forward"]


def test_forward_into_positional_only_rejected():
    request, errors = check(pos_only, kwargs_text="{'b': 2}", forward_text="a")
    assert request is None
    assert "'a' is positional-only" in errors["forward"]
    assert "cannot be given by name" in errors["forward"]


def test_kwargs_with_positional_only_rejected():
    request, errors = check(pos_only, kwargs_text="{'a': 1}", forward_text="b")
    assert request is None
    assert "'a' is positional-only" in errors["kwargs"]
    assert "cannot be given by name" in errors["kwargs"]


def test_auto_leaves_required_positional_only_unset():
    request, errors = check(pos_only, forward_text="AUTO")
    assert request is None
    assert "forward" not in errors  # AUTO picks b
    assert "Missing 'a'" in errors["function"]
    assert "positional-only" in errors["function"]


def test_positional_only_with_default_accepted():
    request, errors = check(pos_only_default, forward_text="AUTO")
    assert errors == {}
    assert request is not None
    assert request.forward == "AUTO"
