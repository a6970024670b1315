"""Response models of the API: the typed contract each route declares (`response_model`) and OpenAPI shows.

Services still answer with dicts in places; these models match them key for key. `Schema` forbids keys it does
not declare, so a service that starts returning a new key fails its route's tests instead of silently leaving
the key out of the answer (or out of the documentation)."""
