"""The API answers an authenticated call."""


def test_list_purposes(client, api):
    response = client.get("/api/v1/purposes", headers=api.headers)
    assert response.status_code == 200
    assert [p["code"] for p in response.json["purposes"]] == ["face", "marketing", "orders"]
