#!/usr/bin/env bash
# The main job: installs what is missing, builds Aisle (release), starts a local PostgreSQL and
# Redis (sessions and carts) unless DATABASE_URL is given, loads the sample catalog into it, rebuilds the index from the
# catalog and serves the search API, following the catalog's changes. Environment:
#   AISLE_CORPUS   catalog to load (default: corpora/sample-catalog.jsonl)
#   AISLE_DATA     where the index and attribute documents go (default: .aisle-data)
#   DATABASE_URL / REDIS_URL / MONGODB_URI   use these stores instead of local throwaway ones
#   AISLE_HOST / AISLE_PORT   where to serve (default 127.0.0.1:8080)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

CORPUS="${AISLE_CORPUS:-corpora/sample-catalog.jsonl}"
DATA="${AISLE_DATA:-.aisle-data}"
mkdir -p "$DATA"

echo "== building (release)" >&2
swift build -c release
AISLE=".build/release/aisle"

if [ -z "${DATABASE_URL:-}" ]; then
  echo "== starting local PostgreSQL and Redis (scripts/services.sh; stopped when this script ends)" >&2
  eval "$(scripts/services.sh start)"
  trap 'scripts/services.sh stop' EXIT
fi
export AISLE_ATTRIBUTES="${AISLE_ATTRIBUTES:-$DATA/product_attributes.json}"

echo "== loading $CORPUS into the catalog" >&2
"$AISLE" catalog load --corpus "$CORPUS"
echo "== rebuilding the index from the catalog" >&2
"$AISLE" reindex --index "$DATA/catalog-index"

for q in "sofa" '"coffee table"' "tv OR television"; do
  echo
  echo "\$ aisle search --index $DATA/catalog-index '$q'"
  "$AISLE" search --index "$DATA/catalog-index" --limit 3 "$q"
done
# The shop's API token (index writes, order payment/shipment, stock): given, or a random one for this run.
TOKEN="${AISLE_API_TOKEN:-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
HOST="${AISLE_HOST:-127.0.0.1}"
PORT="${AISLE_PORT:-8080}"
echo
echo "== serving on http://$HOST:$PORT  (Ctrl-C stops)" >&2
echo "   curl 'http://$HOST:$PORT/api/v1/products/search?q=sofa&category=Furniture&sort=price_asc'" >&2
echo "   curl -XPOST http://$HOST:$PORT/api/v1/search -d '{\"q\": \"lamp\", \"facets\": [\"brand\", \"price\"]}'" >&2
if [ -n "${REDIS_URL:-}" ]; then
  echo "   customers, sessions and carts (Redis at $REDIS_URL):" >&2
  echo "   curl -c /tmp/aisle-cookies -XPOST http://$HOST:$PORT/api/v1/sessions                      # a guest session (cookie)" >&2
  echo "   curl -b /tmp/aisle-cookies -XPOST http://$HOST:$PORT/api/v1/cart/items -d '{\"product_id\": \"S0001\", \"quantity\": 2}'" >&2
  echo "   curl -b /tmp/aisle-cookies http://$HOST:$PORT/api/v1/cart" >&2
  echo "   curl -XPOST http://$HOST:$PORT/api/v1/customers -d '{\"email\": \"ann@example.com\", \"password\": \"correct horse\", \"name\": \"Ann\"}'" >&2
  echo "   curl -b /tmp/aisle-cookies -c /tmp/aisle-cookies -XPOST http://$HOST:$PORT/api/v1/sessions -d '{\"email\": \"ann@example.com\", \"password\": \"correct horse\"}'  # log in, guest cart merged" >&2
  echo "   orders (the cart's total from GET /api/v1/cart as expected_total; the shop's API token is $TOKEN):" >&2
  echo "   curl -b /tmp/aisle-cookies -XPOST http://$HOST:$PORT/api/v1/orders -H 'Idempotency-Key: order-1' -d '{\"shipping_address\": {\"line1\": \"1 Main St\", \"city\": \"Springfield\", \"postal_code\": \"12345\", \"country\": \"US\"}, \"payment_method_id\": \"pm_card\", \"expected_total\": \"1798.00\"}'" >&2
  echo "   curl -XPOST http://$HOST:$PORT/api/v1/orders/1/payment -H 'Authorization: Bearer $TOKEN'; curl -b /tmp/aisle-cookies http://$HOST:$PORT/api/v1/orders/1/events" >&2
  echo "   curl http://$HOST:$PORT/api/v1/inventory/S0001;  $AISLE inventory check;  $AISLE orders rebuild" >&2
fi
echo "   catalog changes show up in search: psql \"$DATABASE_URL\" -c \"UPDATE products SET price = 9.99 WHERE id = 'S0001'\"" >&2
"$AISLE" serve --index "$DATA/catalog-index" --host "$HOST" --port "$PORT" --token "$TOKEN"
