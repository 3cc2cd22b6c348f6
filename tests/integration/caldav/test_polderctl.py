# test_polderctl.py - polderctl calendar list shows a user's collections with their entry
# counts, and refuses an unknown user or one outside --org.
#
# SECURITY: the listing never contains calendar or contact content.
# STANDARDS: none (operator tooling).
import json

from test_dav import event


def test_calendar_list_shows_collections_and_counts(dav, cal_org, polderctl):
    assert dav("PUT", cal_org.cal(who=cal_org.bob, obj="ctl.ics"), event("ctl", summary="Geheim overleg"),
               user=cal_org.bob)[0] in (201, 204)
    out = polderctl.ok("calendar", "list", cal_org.bob, "--json")
    rows = {(r["kind"], r["name"]): r for r in json.loads(out.stdout)}
    assert rows[("calendar", "agenda")]["entries"] >= 1
    assert rows[("calendar", "agenda")]["components"] == "VEVENT"
    assert rows[("calendar", "tasks")]["components"] == "VTODO"
    assert ("addressbook", "contacts") in rows
    text = polderctl.ok("calendar", "list", cal_org.bob).stdout
    assert "agenda" in text and "Geheim" not in text


def test_calendar_list_refuses_unknown_users_and_other_organisations(polderctl, cal_org):
    r = polderctl("calendar", "list", f"nobody@{cal_org.domain}")
    assert r.returncode != 0
    r = polderctl("calendar", "list", cal_org.carol, "--org", cal_org.name)
    assert r.returncode != 0
