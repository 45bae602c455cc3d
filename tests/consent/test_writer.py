from tests.factories import grant, make_org, make_purpose, make_subject


def test_grant_smoke(db, clock):
    org = make_org(clock.now())
    make_purpose(org, clock.now())
    subject = make_subject(org, clock.now())
    result = grant(org, subject, clock.now(), "marketing")
    assert result.events[0].seq == 1
    assert result.states[0].status == "granted"
