"""The website widget's text handling, without a browser: vendoring refuses outside CSS, and
answers keep their line breaks and clickable links."""

from __future__ import annotations

import pytest

from dit_assistant.channels.socketio import widget_markdown
from dit_assistant.web.vendor import VendorError, strip_remote_css


def test_vendoring_refuses_a_bundle_that_loads_outside_css():
    cleaned, removed = strip_remote_css('"@import url(https://fonts.googleapis.com/css?x);a{}"')
    assert removed == 1 and "googleapis" not in cleaned
    with pytest.raises(VendorError):
        strip_remote_css("a{background:url(https://tracker.example/pixel.png)}")


def test_widget_markdown_keeps_line_breaks_and_links_urls():
    text = "Helplines:\n• One\n• Two\n\nRead https://www.example-clinic.org/privacy."
    assert widget_markdown(text) == (
        "Helplines:  \n• One  \n• Two\n\nRead "
        "[https://www.example-clinic.org/privacy](https://www.example-clinic.org/privacy)."
    )
