"""Where the dashboard may send someone after signing in (``next``): only its own paths."""

from __future__ import annotations

import pytest

from dit_assistant.staff.views import is_same_site_path


@pytest.mark.parametrize(
    "target",
    ["/", "/enquiries?status=new", "/enquiries/DIT-7K3Q9", "/statistics#weeks", "/a/b%2Fc"],
)
def test_paths_on_the_dashboard_are_allowed(target):
    assert is_same_site_path(target)


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "//evil",
        "///evil",
        "\\\\evil",
        "/\\evil",
        "/\\/evil",
        "https://evil.example/",
        "javascript:alert(1)",
        "http:/evil",
        "evil.example",
        " /enquiries",
        "/ /evil",
        "/\x00/evil",
        "/\u2028/evil",
        "",
        None,
        "/" + "a" * 3000,
    ],
)
def test_anything_that_could_lead_elsewhere_is_refused(target):
    assert not is_same_site_path(target)
