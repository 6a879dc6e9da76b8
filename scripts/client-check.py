"""Calls a running careband through the Python client generated from its /openapi.json
(scripts/client-test.sh generates it as the package careband_client) and fails unless every
answer is the generated typed model the document promises: not None (an answer the client
could not parse), not a raw dict.

Usage: PYTHONPATH=<folder with careband_client> python client-check.py http://127.0.0.1:PORT
"""

import datetime
import io
import sys

from careband_client import Client
from careband_client.api.lookup import get_lookup, get_places, post_batch, post_lookup
from careband_client.api.postcodes import get_postcode, nearest_postcodes, post_postcodes
from careband_client.api.schemes import get_scheme, list_schemes
from careband_client.models import (
    BulkResponse,
    ErrorBody,
    ErrorDetail,
    LookupRequest,
    LookupResponseArea,
    LookupResponsePlaces,
    LookupResponsePoint,
    NearestPostcodes,
    NearPostcode,
    PlacesResponse,
    PointOut,
    PostcodeResponse,
    PostcodesBody,
    SchemeDetail,
    SchemeList,
)
from careband_client.types import File

client = Client(base_url=sys.argv[1], raise_on_unexpected_status=True, timeout=60)
DAY = datetime.date(2019, 6, 1)
failures = []
checked = 0


def expect(what, answer, model):
    """The answer is an instance of the generated `model` (a class of careband_client.models)."""
    global checked
    checked += 1
    generated = type(answer).__module__.startswith("careband_client.models")
    ok = isinstance(answer, model) and (generated or model.__module__ in ("builtins", "datetime"))
    print(f"{'ok  ' if ok else 'FAIL'} {what}: {type(answer).__name__}")
    if not ok:
        failures.append(f"{what}: expected {model.__name__}, got {answer!r:.300}")
    return answer


a = expect("GET /v1/lookup?postcode", get_lookup.sync(client=client, postcode="NR1 1AA", date=DAY), LookupResponsePoint)
expect("  its resolution's date", a.resolution.date, datetime.date)
expect("GET /v1/lookup?lat&lon", get_lookup.sync(client=client, lat=52.6266, lon=1.3093, date=DAY), LookupResponsePoint)
expect("GET /v1/lookup?postcode=district", get_lookup.sync(client=client, postcode="NR25", date=DAY), LookupResponseArea)
expect("GET /v1/lookup?q=place", get_lookup.sync(client=client, q="Hethersett", date=DAY), LookupResponsePlaces)
expect("GET /v1/lookup unknown postcode", get_lookup.sync(client=client, postcode="NR1 9ZZ"), ErrorBody)

p = expect("GET /v1/postcodes/{postcode}", get_postcode.sync("NR1 1AA", client=client), PostcodeResponse)
expect("  its position", p.position, PointOut)

bulk = [LookupRequest(postcode="NR1 1AA"), LookupRequest(lat=51.4545, lon=-2.5879), LookupRequest(postcode="XX")]
r = expect("POST /v1/lookup (array)", post_lookup.sync(client=client, body=bulk), BulkResponse)
expect("  its first answer", r.results[0].answer, LookupResponsePoint)
expect("  its error", r.results[2].error, ErrorDetail)
shape = PostcodesBody(postcodes=["NR1 1AA", "BS1 5TR"])
r = expect("POST /v1/lookup (postcodes.io shape)", post_lookup.sync(client=client, body=shape), BulkResponse)
expect("  its second answer", r.results[1].answer, LookupResponsePoint)
r = expect("POST /v1/postcodes (postcodes.io shape)", post_postcodes.sync(client=client, body=shape), BulkResponse)
expect("  its first answer", r.results[0].answer, LookupResponsePoint)

n = expect("GET /v1/postcodes?lat&lon", nearest_postcodes.sync(client=client, lat=52.6266, lon=1.3093, radius=500), NearestPostcodes)
expect("  its nearest", n.postcodes[0] if n.postcodes else None, NearPostcode)
expect("GET /v1/postcodes?easting&northing", nearest_postcodes.sync(client=client, easting=623000, northing=308000), NearestPostcodes)

expect("GET /v1/places", get_places.sync(client=client, q="hether"), PlacesResponse)
expect("GET /v1/schemes", list_schemes.sync(client=client), SchemeList)
expect("GET /v1/schemes/{id}", get_scheme.sync("norfolk", client=client), SchemeDetail)

csv = post_batch.sync(client=client, body=File(payload=io.BytesIO(b"postcode\nNR1 1AA\nBS1 5TR\n"), file_name="in.csv"), date=DAY)
expect("POST /v1/batch", csv, str)
if isinstance(csv, str) and not csv.startswith("postcode,"):
    failures.append(f"POST /v1/batch: not the answered CSV: {csv[:200]!r}")

if failures:
    print("\n".join(["client-check: FAILED"] + failures), file=sys.stderr)
    sys.exit(1)
print(f"client-check: {checked} answers, each the generated typed model")
