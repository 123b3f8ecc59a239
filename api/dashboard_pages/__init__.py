"""HTML for the built-in dashboard: plain f-strings, every value through ``html.escape``.

Small functions, one per piece of the page (a badge, a progress bar, a key
result table, an objective card, the progress chart, the audit timeline),
composed into three pages. No JavaScript and no external assets: styles are
inline, the chart is inline SVG. The functions take the plain dicts the
query functions answer (the API's read shapes) and know nothing of HTTP.
One module per job: style, frame, pieces, cycle_page, chart, objective_page.
"""

from api.dashboard_pages.cycle_page import cycle_page, no_cycles_page, walk
from api.dashboard_pages.frame import Frame, e, message_page, sign_in_page
from api.dashboard_pages.objective_page import objective_page

__all__ = [
    "Frame",
    "cycle_page",
    "e",
    "message_page",
    "no_cycles_page",
    "objective_page",
    "sign_in_page",
    "walk",
]
