/// The OpenAPI 3 description of the HTTP API (served at /api/v1/openapi.json).
enum OpenAPI {
    static let document = #"""
{
 "openapi": "3.0.3",
 "info": {
  "title": "Aisle search API",
  "version": "1",
  "description": "Product search, facets and filters over an Aisle index. Errors answer {\"error\": message} with status 400 (bad input, including a query over its limits), 401 (missing or wrong bearer token), 403 (writes disabled), 404 (unknown product), 405 (writes to a fixed index), 409 (another process writes this index), 413 (body too large) or 503 with Retry-After (the search queue is full, a search ran past its deadline, or the index could not write). Search is lenient about query syntax unless the request says \"syntax\": \"strict\". The commerce routes (customers, sessions, carts; mounted when the server has DATABASE_URL and REDIS_URL) add: 401 (no session or an expired one, a guest session where a customer is needed, or a wrong email or password), 409 (an email already registered, an inactive product, a cart line over 99 or a cart over 100 lines), 412 with the cart's current version (If-Match names another version), 429 with Retry-After (too many failed logins for an email) and 503 when a store is down (\"cart store unavailable: ...\" for Redis, \"customer store unavailable: ...\" for PostgreSQL; search keeps serving) or commerce is not configured. Money in commerce answers is an exact decimal string such as \"19.99\". The order and inventory routes (orders and stock in PostgreSQL, mounted with the commerce routes) answer a refused order or stock change as {\"error\": code, \"message\": ..., ...details} (OrderError): 409 cart_empty, totals_changed, out_of_stock, product_unavailable, in_progress (with Retry-After), illegal_transition, version_conflict or stale_stock, and 422 idempotency_key_reused; an order that is not the session's customer's is 404; the shop's routes (payment, shipment, delivery, setting stock) take the API token (bearer) like product writes."
 },
 "paths": {
  "/readyz": {
   "get": {
    "summary": "Readiness for a load balancer",
    "description": "For a load balancer's health check. Without a catalog to follow: 200 whenever the server answers. With one: 503 until the follower has applied the whole change log since the server started (a node restarting or joining), and 503 when the change log could not be read for more than 30 s; 200 otherwise (a node that merely lags behind a large change stays in, as all nodes would lag alike). The answer gives the reason and the follower's position. /healthz stays the liveness check.",
    "responses": {
     "200": {
      "description": "ready",
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}
     },
     "503": {
      "description": "not ready: catching up, behind, or the change log cannot be read",
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}
     }
    }
   }
  },
  "/healthz": {
   "get": {
    "summary": "Liveness and index size",
    "responses": {
     "200": {
      "description": "ok",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "status": {
           "type": "string"
          },
          "documents": {
           "type": "integer"
          },
          "generation": {
           "type": "integer"
          },
          "searches_running": {
           "type": "integer"
          },
          "searches_queued": {
           "type": "integer"
          },
          "searches_refused": {
           "type": "integer"
          },
          "facet_cache": {
           "$ref": "#/components/schemas/CacheStatistics"
          },
          "stored_block_cache": {
           "$ref": "#/components/schemas/CacheStatistics"
          },
          "searches_demoted": {
           "type": "integer"
          },
          "connections": {
           "type": "integer"
          },
          "connections_refused": {
           "type": "integer"
          },
          "connections_timed_out": {
           "type": "integer"
          },
          "segments": {
           "type": "integer"
          },
          "commit": {
           "type": "integer"
          }
         }
        }
       }
      }
     }
    }
   }
  },
  "/api/v1/openapi.json": {
   "get": {
    "summary": "This document",
    "responses": {
     "200": {
      "description": "OpenAPI document"
     }
    }
   }
  },
  "/api/v1/products/search": {
   "get": {
    "summary": "A shop's search or category page: results, exact total, pages, brand/category/price facets",
    "parameters": [
     {
      "name": "q",
      "in": "query",
      "schema": {
       "type": "string",
       "maxLength": 2000
      },
      "description": "Query string: words, \"phrases\"~slop, -exclusions, OR, field:value, prefix*"
     },
     {
      "name": "category",
      "in": "query",
      "schema": {
       "type": "string"
      },
      "description": "Category path prefix, e.g. Furniture > Sofas"
     },
     {
      "name": "brand",
      "in": "query",
      "schema": {
       "type": "array",
       "items": {
        "type": "string"
       }
      },
      "style": "form",
      "explode": true,
      "description": "Repeat for any-of"
     },
     {
      "name": "min_price",
      "in": "query",
      "schema": {
       "type": "number"
      }
     },
     {
      "name": "max_price",
      "in": "query",
      "schema": {
       "type": "number"
      }
     },
     {
      "name": "in_stock",
      "in": "query",
      "schema": {
       "type": "boolean"
      }
     },
     {
      "name": "sort",
      "in": "query",
      "schema": {
       "type": "string",
       "enum": [
        "relevance",
        "price_asc",
        "price_desc",
        "rating",
        "review_count"
       ]
      }
     },
     {
      "name": "page",
      "in": "query",
      "schema": {
       "type": "integer",
       "minimum": 1,
       "maximum": 10000
      }
     },
     {
      "name": "limit",
      "in": "query",
      "schema": {
       "type": "integer",
       "minimum": 1,
       "maximum": 100
      }
     },
     {
      "name": "retrieval",
      "in": "query",
      "schema": {
       "type": "string",
       "enum": [
        "lexical",
        "vector",
        "hybrid"
       ]
      },
      "description": "Default: hybrid on an index with a vector field (lexical for pages past the first 1000 results), lexical otherwise"
     }
    ],
    "responses": {
     "200": {
      "description": "Results",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/ProductPage"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "503": {
      "$ref": "#/components/responses/Busy"
     }
    },
    "description": "Never fails on query syntax: a broken query (unclosed quote or parenthesis, dangling AND, unknown field:) searches its plain words and the answer says \"query_syntax\": \"lenient\". Limits (2,000 bytes, 256 parts, 32 levels of parentheses, 8 prefix words) answer 400 naming the limit. With the commerce database, a search with words is recorded for analytics (query, total, time, session and device from the X-Aisle-Session and X-Aisle-Device headers) on a bounded queue: recording never slows or fails the search."
   }
  },
  "/api/v1/analytics/queries": {
   "get": {
    "summary": "Top queries: searches, zero results, click-through rate, mean click position, conversion rate (API token)",
    "security": [{"bearer": []}],
    "parameters": [
     {"$ref": "#/components/parameters/AnalyticsFrom"},
     {"$ref": "#/components/parameters/AnalyticsTo"},
     {"$ref": "#/components/parameters/AnalyticsLimit"}
    ],
    "responses": {
     "200": {
      "description": "The report, read from the daily rollups",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "from": {"type": "string"},
          "to": {"type": "string"},
          "queries": {"type": "array", "items": {"$ref": "#/components/schemas/AnalyticsQueryRow"}}
         }
        }
       }
      }
     },
     "400": {"$ref": "#/components/responses/Error"},
     "401": {"$ref": "#/components/responses/Error"},
     "403": {"$ref": "#/components/responses/Error"},
     "503": {"$ref": "#/components/responses/Error"}
    }
   }
  },
  "/api/v1/analytics/zero-results": {
   "get": {
    "summary": "Queries that found nothing, by how often (API token)",
    "security": [{"bearer": []}],
    "parameters": [
     {"$ref": "#/components/parameters/AnalyticsFrom"},
     {"$ref": "#/components/parameters/AnalyticsTo"},
     {"$ref": "#/components/parameters/AnalyticsLimit"}
    ],
    "responses": {
     "200": {
      "description": "The report, read from the daily rollups",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "from": {"type": "string"},
          "to": {"type": "string"},
          "queries": {"type": "array", "items": {"$ref": "#/components/schemas/AnalyticsQueryRow"}}
         }
        }
       }
      }
     },
     "400": {"$ref": "#/components/responses/Error"},
     "401": {"$ref": "#/components/responses/Error"},
     "403": {"$ref": "#/components/responses/Error"},
     "503": {"$ref": "#/components/responses/Error"}
    }
   }
  },
  "/api/v1/analytics/funnel": {
   "get": {
    "summary": "Search -> click -> cart -> purchase by day and device (API token)",
    "security": [{"bearer": []}],
    "parameters": [
     {"$ref": "#/components/parameters/AnalyticsFrom"},
     {"$ref": "#/components/parameters/AnalyticsTo"}
    ],
    "responses": {
     "200": {
      "description": "The report, read from the daily rollups",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "from": {"type": "string"},
          "to": {"type": "string"},
          "days": {"type": "array", "items": {"type": "object", "properties": {"day": {"type": "string"}, "device": {"type": "string"}, "searches": {"type": "integer"}, "clicks": {"type": "integer"}, "carts": {"type": "integer"}, "purchases": {"type": "integer"}}}}
         }
        }
       }
      }
     },
     "400": {"$ref": "#/components/responses/Error"},
     "401": {"$ref": "#/components/responses/Error"},
     "403": {"$ref": "#/components/responses/Error"},
     "503": {"$ref": "#/components/responses/Error"}
    }
   }
  },
  "/api/v1/events": {
   "post": {
    "summary": "What shoppers did with the answers: clicks, product views, add-to-carts and purchases (with their lines), for search analytics (no token: the storefront sends them)",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "required": ["events"],
        "properties": {
         "events": {
          "type": "array",
          "maxItems": 1000,
          "items": {
           "type": "object",
           "required": ["type", "session", "device"],
           "properties": {
            "type": {"type": "string", "enum": ["click", "view", "add_to_cart", "purchase"]},
            "session": {"type": "string", "maxLength": 512},
            "device": {"type": "string", "maxLength": 512},
            "at": {"type": "integer", "description": "Milliseconds since 1970 (UTC); the time received when absent"},
            "query_id": {"type": "string", "description": "click: the query_id of the answer clicked"},
            "product_id": {"type": "string", "description": "click, view, add_to_cart; purchase: a one-line purchase instead of lines"},
            "position": {"type": "integer", "minimum": 1, "maximum": 10000, "description": "click: the result's position, from 1"},
            "order_id": {"type": "string", "description": "purchase (required)"},
            "quantity": {"type": "integer", "minimum": 1, "maximum": 10000, "description": "add_to_cart; purchase: the one line's quantity (default 1), only with product_id"},
            "lines": {"type": "array", "maxItems": 100, "description": "purchase: what the order bought (not together with product_id/quantity)",
              "items": {"type": "object", "required": ["product_id"], "additionalProperties": false,
                "properties": {"product_id": {"type": "string", "minLength": 1, "maxLength": 512},
                               "quantity": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1}}}}
           }
          }
         }
        }
       }
      }
     }
    },
    "responses": {
     "202": {
      "description": "Queued: written to PostgreSQL within a moment, in batches. Events the full queue could not take are dropped and counted.",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "accepted": {"type": "integer"},
          "dropped": {"type": "integer"}
         }
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "413": {
      "$ref": "#/components/responses/Error"
     },
     "503": {
      "$ref": "#/components/responses/Error"
     }
    },
    "description": "A bad event answers 400 naming it and its field (events[3].position must be from 1 to 10000, events[2].lines[0].quantity must be from 1 to 10000) and nothing of the batch is taken; more than 1,000 events or 1 MiB is 413; without the commerce database, 503. Searches are not sent: the server records its own."
   }
  },
  "/api/v1/search": {
   "post": {
    "summary": "Search with the query JSON (as aisle search --stdin)",
    "parameters": [
     {
      "name": "index",
      "in": "query",
      "required": false,
      "description": "An index of --data (the Elasticsearch-compatible API's) to search instead of --index",
      "schema": {
       "type": "string"
      }
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/SearchRequest"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "Results",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SearchResponse"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "413": {
      "$ref": "#/components/responses/Error"
     },
     "503": {
      "$ref": "#/components/responses/Busy"
     }
    }
   }
  },
  "/static/{file}": {
   "get": {
    "summary": "The storefront's script and style sheet (app.js, app.css)",
    "parameters": [
     {
      "name": "file",
      "in": "path",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "The file (text/javascript or text/css), with the Content-Security-Policy and nosniff",
      "content": {
       "text/javascript": {
        "schema": {
         "type": "string"
        }
       },
       "text/css": {
        "schema": {
         "type": "string"
        }
       }
      }
     },
     "404": {
      "$ref": "#/components/responses/Error"
     }
    }
   }
  },
  "/api/v1/suggest": {
   "get": {
    "summary": "Autocomplete: whole-query suggestions (never one without results), products for the query with its last word as a prefix, and categories with counts",
    "parameters": [
     {
      "name": "q",
      "in": "query",
      "required": true,
      "description": "What has been typed (a trailing space means the last word is finished); typos in finished words are corrected",
      "schema": {
       "type": "string",
       "maxLength": 200
      }
     },
     {
      "name": "limit",
      "in": "query",
      "required": false,
      "description": "Suggestions and products to return (1 to 20, default 8)",
      "schema": {
       "type": "integer",
       "minimum": 1,
       "maximum": 20
      }
     }
    ],
    "responses": {
     "200": {
      "description": "Suggestions, products and categories",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "required": [
          "suggestions",
          "products",
          "categories",
          "query",
          "took_us"
         ],
         "properties": {
          "suggestions": {
           "type": "array",
           "items": {
            "type": "object",
            "properties": {
             "text": {
              "type": "string"
             },
             "completion_start": {
              "type": "integer",
              "description": "Character offset in text where the completed (not typed) part begins"
             }
            }
           }
          },
          "products": {
           "type": "array",
           "items": {
            "type": "object",
            "additionalProperties": true
           }
          },
          "categories": {
           "type": "array",
           "items": {
            "type": "object",
            "properties": {
             "value": {
              "type": "string"
             },
             "count": {
              "type": "integer"
             },
             "count_is_lower_bound": {
              "type": "boolean"
             }
            }
           }
          },
          "query": {
           "type": "string",
           "description": "The query the products are for (the last word with *)"
          },
          "warnings": {
           "type": "array",
           "items": {
            "type": "string"
           }
          },
          "took_us": {
           "type": "number"
          }
         }
        },
        "example": {
         "suggestions": [
          {
           "text": "cordless drill",
           "completion_start": 11
          }
         ],
         "products": [
          {
           "id": "P1",
           "score": 12.5,
           "title": "Acme Cordless Drill",
           "price": 89.99
          }
         ],
         "categories": [
          {
           "value": "Tools > Power Tools > Cordless Drills",
           "count": 649
          }
         ],
         "query": "cordless dr*",
         "took_us": 640.2
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "503": {
      "$ref": "#/components/responses/Busy"
     }
    }
   }
  },
  "/api/v1/products/{id}": {
   "get": {
    "summary": "One product's fields",
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "schema": {
       "type": "string"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "The product",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "properties": {
          "id": {
           "type": "string"
          }
         },
         "additionalProperties": true
        }
       }
      }
     },
     "404": {
      "$ref": "#/components/responses/Error"
     },
     "503": {
      "$ref": "#/components/responses/Busy"
     }
    }
   },
   "put": {
    "summary": "Add or replace a product (the body is the product, as in the catalog JSONL)",
    "security": [
     {
      "bearer": []
     }
    ],
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "refresh",
      "in": "query",
      "required": false,
      "description": "true: searchable before the answer (otherwise within the server's --refresh-ms)",
      "schema": {
       "type": "boolean"
      }
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "additionalProperties": true
       }
      }
     }
    },
    "responses": {
     "200": {
      "$ref": "#/components/responses/WriteResult"
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "401": {
      "$ref": "#/components/responses/Error"
     },
     "403": {
      "$ref": "#/components/responses/Error"
     },
     "404": {
      "$ref": "#/components/responses/Error"
     },
     "409": {
      "$ref": "#/components/responses/Error"
     },
     "413": {
      "$ref": "#/components/responses/Error"
     },
     "503": {
      "$ref": "#/components/responses/Busy"
     }
    }
   },
   "patch": {
    "summary": "Set numeric and boolean fields in place (price, in_stock, stock, rating, popularity...) without re-indexing text",
    "security": [
     {
      "bearer": []
     }
    ],
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "refresh",
      "in": "query",
      "required": false,
      "description": "true: searchable before the answer (otherwise within the server's --refresh-ms)",
      "schema": {
       "type": "boolean"
      }
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "example": {
         "price": 12.5,
         "in_stock": false
        },
        "additionalProperties": {
         "oneOf": [
          {
           "type": "number"
          },
          {
           "type": "boolean"
          }
         ],
         "nullable": true
        }
       }
      }
     }
    },
    "responses": {
     "200": {
      "$ref": "#/components/responses/WriteResult"
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "401": {
      "$ref": "#/components/responses/Error"
     },
     "403": {
      "$ref": "#/components/responses/Error"
     },
     "404": {
      "$ref": "#/components/responses/Error"
     },
     "409": {
      "$ref": "#/components/responses/Error"
     },
     "413": {
      "$ref": "#/components/responses/Error"
     },
     "503": {
      "$ref": "#/components/responses/Busy"
     }
    }
   },
   "delete": {
    "summary": "Delete a product",
    "security": [
     {
      "bearer": []
     }
    ],
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "refresh",
      "in": "query",
      "required": false,
      "description": "true: searchable before the answer (otherwise within the server's --refresh-ms)",
      "schema": {
       "type": "boolean"
      }
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/WriteResult"
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "401": {
      "$ref": "#/components/responses/Error"
     },
     "403": {
      "$ref": "#/components/responses/Error"
     },
     "404": {
      "$ref": "#/components/responses/Error"
     },
     "409": {
      "$ref": "#/components/responses/Error"
     },
     "413": {
      "$ref": "#/components/responses/Error"
     },
     "503": {
      "$ref": "#/components/responses/Busy"
     }
    }
   }
  },
  "/api/v1/products/{id}/recommendations": {
   "get": {
    "summary": "You might also like: products bought together with this one (from the orders), then similar products (same category, its most telling title words, close price) when there are too few; never the product itself or anything out of stock",
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "limit",
      "in": "query",
      "required": false,
      "description": "How many products (1 to 50, default 8)",
      "schema": {
       "type": "integer",
       "minimum": 1,
       "maximum": 50,
       "default": 8
      }
     }
    ],
    "responses": {
     "200": {
      "description": "The recommendations, bought together first",
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "required": [
          "product_id",
          "recommendations"
         ],
         "properties": {
          "product_id": {
           "type": "string"
          },
          "recommendations": {
           "type": "array",
           "items": {
            "type": "object",
            "required": [
             "id",
             "source"
            ],
            "properties": {
             "id": {
              "type": "string"
             },
             "title": {
              "type": "string"
             },
             "brand": {
              "type": "string",
              "nullable": true
             },
             "price": {
              "type": "number",
              "nullable": true
             },
             "category": {
              "type": "string",
              "nullable": true
             },
             "in_stock": {
              "type": "boolean"
             },
             "source": {
              "type": "string",
              "enum": [
               "bought_together",
               "similar"
              ]
             },
             "orders": {
              "type": "integer",
              "description": "bought_together: orders with both products"
             },
             "share": {
              "type": "number",
              "description": "bought_together: the share of this product's orders that also had that one"
             }
            }
           }
          },
          "warnings": {
           "type": "array",
           "items": {
            "type": "string"
           },
           "description": "For example: the order store is down, so similar products only"
          },
          "took_us": {
           "type": "number"
          }
         }
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "404": {
      "$ref": "#/components/responses/Error"
     },
     "503": {
      "$ref": "#/components/responses/Busy"
     }
    }
   }
  },
  "/api/v1/products/_bulk": {
   "post": {
    "summary": "Apply change lines (NDJSON): {\"op\": \"upsert\", ...product}, {\"op\": \"delete\", \"id\": ...}, {\"op\": \"set\", \"id\": ..., \"price\": 12.5}. Bad lines are reported by number and skipped; atomic=true rejects the batch whole (400).",
    "security": [
     {
      "bearer": []
     }
    ],
    "parameters": [
     {
      "name": "atomic",
      "in": "query",
      "required": false,
      "schema": {
       "type": "boolean"
      }
     },
     {
      "name": "refresh",
      "in": "query",
      "required": false,
      "schema": {
       "type": "boolean"
      }
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/x-ndjson": {
       "schema": {
        "type": "string"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "What was applied",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/BulkReport"
        }
       }
      }
     },
     "400": {
      "description": "Rejected (atomic) or bad request",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/BulkReport"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Error"
     },
     "403": {
      "$ref": "#/components/responses/Error"
     },
     "409": {
      "$ref": "#/components/responses/Error"
     },
     "413": {
      "$ref": "#/components/responses/Error"
     },
     "503": {
      "description": "The index could not write (a full disk): the batch stopped at stopped_at_line; the report says exactly what was applied and how many lines were not attempted",
      "headers": {
       "Retry-After": {
        "schema": {
         "type": "integer"
        }
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/BulkReport"
        }
       }
      }
     }
    }
   }
  },
  "/api/v1/customers": {
   "post": {
    "summary": "Register a customer (the password is stored as an argon2id hash)",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/CustomerCreate"
       }
      }
     }
    },
    "responses": {
     "201": {
      "description": "The new customer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Customer"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "409": {
      "description": "The email is already registered (compared case-insensitively)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "413": {
      "$ref": "#/components/responses/Error"
     },
     "503": {
      "$ref": "#/components/responses/StoreUnavailable"
     }
    }
   }
  },
  "/api/v1/customers/me": {
   "get": {
    "summary": "The customer of the session",
    "security": [
     {
      "bearerAuth": []
     },
     {
      "aisle_session": []
     }
    ],
    "responses": {
     "200": {
      "description": "The customer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Customer"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/NoSession"
     },
     "503": {
      "$ref": "#/components/responses/StoreUnavailable"
     }
    }
   },
   "patch": {
    "summary": "Change the name or the shipping address of the session's customer",
    "security": [
     {
      "bearerAuth": []
     },
     {
      "aisle_session": []
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/CustomerUpdate"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "The customer",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Customer"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "401": {
      "$ref": "#/components/responses/NoSession"
     },
     "413": {
      "$ref": "#/components/responses/Error"
     },
     "503": {
      "$ref": "#/components/responses/StoreUnavailable"
     }
    }
   }
  },
  "/api/v1/sessions": {
   "post": {
    "summary": "Start a guest session ({} or no body) or log in (email, password), merging a guest cart",
    "description": "A login with guest_token (or the aisle_session cookie of a guest session) merges that guest cart into the customer's: quantities are summed and capped at 99, the guest cart is gone afterwards, and the answer says merged_lines. Repeating the login does not add the guest cart twice.",
    "security": [
     {},
     {
      "aisle_session": []
     }
    ],
    "requestBody": {
     "required": false,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/SessionCreate"
       }
      }
     }
    },
    "responses": {
     "201": {
      "description": "The new session, with its token (the only time it is sent)",
      "headers": {
       "Set-Cookie": {
        "$ref": "#/components/headers/SetSessionCookie"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Session"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "401": {
      "description": "wrong email or password",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "413": {
      "$ref": "#/components/responses/Error"
     },
     "429": {
      "$ref": "#/components/responses/Throttled"
     },
     "503": {
      "$ref": "#/components/responses/StoreUnavailable"
     }
    }
   }
  },
  "/api/v1/sessions/current": {
   "get": {
    "summary": "The session sent with the request (its token is not repeated)",
    "security": [
     {
      "bearerAuth": []
     },
     {
      "aisle_session": []
     }
    ],
    "responses": {
     "200": {
      "description": "The session, without token",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Session"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/NoSession"
     },
     "503": {
      "$ref": "#/components/responses/StoreUnavailable"
     }
    }
   },
   "delete": {
    "summary": "Log out: end the session and clear its cookie",
    "security": [
     {
      "bearerAuth": []
     },
     {
      "aisle_session": []
     }
    ],
    "responses": {
     "204": {
      "description": "Ended",
      "headers": {
       "Set-Cookie": {
        "$ref": "#/components/headers/ClearSessionCookie"
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/NoSession"
     },
     "503": {
      "$ref": "#/components/responses/StoreUnavailable"
     }
    }
   }
  },
  "/api/v1/cart": {
   "get": {
    "summary": "The session's cart with current prices, total and warnings",
    "security": [
     {
      "bearerAuth": []
     },
     {
      "aisle_session": []
     }
    ],
    "responses": {
     "200": {
      "description": "The cart",
      "headers": {
       "ETag": {
        "$ref": "#/components/headers/ETag"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Cart"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/NoSession"
     },
     "503": {
      "$ref": "#/components/responses/StoreUnavailable"
     }
    }
   },
   "delete": {
    "summary": "Empty the cart",
    "security": [
     {
      "bearerAuth": []
     },
     {
      "aisle_session": []
     }
    ],
    "parameters": [
     {
      "$ref": "#/components/parameters/IfMatch"
     }
    ],
    "responses": {
     "200": {
      "description": "The empty cart's version",
      "headers": {
       "ETag": {
        "$ref": "#/components/headers/ETag"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/CartCleared"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/NoSession"
     },
     "412": {
      "$ref": "#/components/responses/VersionMismatch"
     },
     "503": {
      "$ref": "#/components/responses/StoreUnavailable"
     }
    }
   }
  },
  "/api/v1/cart/items": {
   "post": {
    "summary": "Add a quantity of a product to the cart (to its line if it has one)",
    "security": [
     {
      "bearerAuth": []
     },
     {
      "aisle_session": []
     }
    ],
    "parameters": [
     {
      "$ref": "#/components/parameters/IfMatch"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/CartItemAdd"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "The line",
      "headers": {
       "ETag": {
        "$ref": "#/components/headers/ETag"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/CartLineChange"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "401": {
      "$ref": "#/components/responses/NoSession"
     },
     "404": {
      "description": "Unknown product",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "409": {
      "description": "The product is not active, the line would go over 99, or the cart would have more than 100 lines",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "412": {
      "$ref": "#/components/responses/VersionMismatch"
     },
     "413": {
      "$ref": "#/components/responses/Error"
     },
     "503": {
      "$ref": "#/components/responses/StoreUnavailable"
     }
    }
   }
  },
  "/api/v1/cart/items/{product_id}": {
   "patch": {
    "summary": "Set a line's quantity (0 removes the line)",
    "security": [
     {
      "bearerAuth": []
     },
     {
      "aisle_session": []
     }
    ],
    "parameters": [
     {
      "$ref": "#/components/parameters/CartProductId"
     },
     {
      "$ref": "#/components/parameters/IfMatch"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/CartItemUpdate"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "The line",
      "headers": {
       "ETag": {
        "$ref": "#/components/headers/ETag"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/CartLineChange"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "401": {
      "$ref": "#/components/responses/NoSession"
     },
     "404": {
      "description": "The product is not in the cart",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "412": {
      "$ref": "#/components/responses/VersionMismatch"
     },
     "413": {
      "$ref": "#/components/responses/Error"
     },
     "503": {
      "$ref": "#/components/responses/StoreUnavailable"
     }
    }
   },
   "delete": {
    "summary": "Remove a line",
    "security": [
     {
      "bearerAuth": []
     },
     {
      "aisle_session": []
     }
    ],
    "parameters": [
     {
      "$ref": "#/components/parameters/CartProductId"
     },
     {
      "$ref": "#/components/parameters/IfMatch"
     }
    ],
    "responses": {
     "200": {
      "description": "The removed line (quantity 0)",
      "headers": {
       "ETag": {
        "$ref": "#/components/headers/ETag"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/CartLineChange"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/NoSession"
     },
     "404": {
      "description": "The product is not in the cart",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "412": {
      "$ref": "#/components/responses/VersionMismatch"
     },
     "503": {
      "$ref": "#/components/responses/StoreUnavailable"
     }
    }
   }
  },
  "/api/v1/orders": {
   "post": {
    "summary": "Place an order from the session's cart (customers only)",
    "description": "One PostgreSQL transaction: the cart's products are re-priced from the catalog and their stock rows locked; the total must equal expected_total and every line must be covered by sellable stock, or nothing is written (409). Then the stock is decremented and the order, its lines (with a snapshot of each product), its OrderPlaced event, the ledger movements and the Idempotency-Key commit together; only after the commit do the ordered quantities leave the cart. The same Idempotency-Key with the same body answers the first answer again, byte for byte (201, the same order, even if it has moved on since); with another body it is 422. A refused request (400, 409) uses up nothing. An unpaid order expires after the server's --order-expiry seconds (default 1800) and its stock goes back.",
    "security": [
     {
      "bearerAuth": []
     },
     {
      "aisle_session": []
     }
    ],
    "parameters": [
     {
      "$ref": "#/components/parameters/IdempotencyKey"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/OrderCreate"
       }
      }
     }
    },
    "responses": {
     "201": {
      "description": "The order, status pending (as its OrderPlaced event made it; a repeat with the same key and body gets the same answer)",
      "headers": {
       "Location": {
        "$ref": "#/components/headers/OrderLocation"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Order"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "401": {
      "$ref": "#/components/responses/NoSession"
     },
     "409": {
      "description": "Refused; nothing was written and the Idempotency-Key is not used up. cart_empty; totals_changed (total, expected_total, currency: send the new total after the buyer has seen it); out_of_stock (product_id, available: what can still be sold); product_unavailable (product_id: gone, a draft or discontinued); in_progress (a request with this key is still running: retry after Retry-After seconds, which gives its answer)",
      "headers": {
       "Retry-After": {
        "$ref": "#/components/headers/RetryAfter"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/OrderError"
        },
        "examples": {
         "cart_empty": {
          "value": {
           "error": "cart_empty",
           "message": "the cart is empty: add products before placing an order"
          }
         },
         "totals_changed": {
          "value": {
           "error": "totals_changed",
           "message": "prices changed: the order would cost 61.00 USD, not the expected 59.98; review the cart and send the new total",
           "total": "61.00",
           "expected_total": "59.98",
           "currency": "USD"
          }
         },
         "out_of_stock": {
          "value": {
           "error": "out_of_stock",
           "message": "not enough stock of S0001: 3 can be sold",
           "product_id": "S0001",
           "available": 3
          }
         },
         "product_unavailable": {
          "value": {
           "error": "product_unavailable",
           "message": "product S0002 is not for sale any more; remove it from the cart",
           "product_id": "S0002"
          }
         },
         "in_progress": {
          "value": {
           "error": "in_progress",
           "message": "a request with this Idempotency-Key is still being processed; retry in 1 s"
          }
         }
        }
       }
      }
     },
     "413": {
      "$ref": "#/components/responses/Error"
     },
     "422": {
      "description": "idempotency_key_reused: this Idempotency-Key was already used with a different body (keys are per customer)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/OrderError"
        },
        "example": {
         "error": "idempotency_key_reused",
         "message": "this Idempotency-Key was already used with a different request body"
        }
       }
      }
     },
     "503": {
      "$ref": "#/components/responses/StoreUnavailable"
     }
    }
   },
   "get": {
    "summary": "The session's customer's orders, newest first, a page at a time",
    "description": "Served from the read model order_summaries, which the server's projector keeps up to date from the order events (eventually consistent: usually within milliseconds of a change). Unknown parameters: 400.",
    "security": [
     {
      "bearerAuth": []
     },
     {
      "aisle_session": []
     }
    ],
    "parameters": [
     {
      "name": "limit",
      "in": "query",
      "required": false,
      "description": "Orders per page",
      "schema": {
       "type": "integer",
       "minimum": 1,
       "maximum": 100,
       "default": 20
      }
     },
     {
      "name": "before",
      "in": "query",
      "required": false,
      "description": "Only orders with a smaller id: the next_before of the previous page",
      "schema": {
       "type": "integer",
       "minimum": 1
      }
     }
    ],
    "responses": {
     "200": {
      "description": "A page of the history",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/OrderHistory"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "401": {
      "$ref": "#/components/responses/NoSession"
     },
     "503": {
      "$ref": "#/components/responses/StoreUnavailable"
     }
    }
   }
  },
  "/api/v1/orders/{id}": {
   "get": {
    "summary": "One order, replayed from its events (now, or as it was at as_of)",
    "description": "For the order's customer (session) or the shop (the API token); anyone else gets 404, as for an order that does not exist. Unknown parameters: 400.",
    "security": [
     {
      "bearer": []
     },
     {
      "bearerAuth": []
     },
     {
      "aisle_session": []
     }
    ],
    "parameters": [
     {
      "$ref": "#/components/parameters/OrderId"
     },
     {
      "name": "as_of",
      "in": "query",
      "required": false,
      "description": "The order as it was at this time: an ISO 8601 date-time such as 2026-12-01T10:00:00Z, optionally with a fraction of a second (up to microseconds count, as in an event's occurred_at). Before the order was placed: 404; not a time: 400.",
      "schema": {
       "type": "string",
       "format": "date-time",
       "example": "2026-12-05T23:54:24.989123Z"
      }
     }
    ],
    "responses": {
     "200": {
      "description": "The order",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Order"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "401": {
      "$ref": "#/components/responses/NoSession"
     },
     "404": {
      "$ref": "#/components/responses/OrderNotFound"
     },
     "503": {
      "$ref": "#/components/responses/StoreUnavailable"
     }
    }
   }
  },
  "/api/v1/orders/{id}/events": {
   "get": {
    "summary": "The order's audit trail: its events, oldest first",
    "description": "For the order's customer (session) or the shop (the API token); anyone else gets 404.",
    "security": [
     {
      "bearer": []
     },
     {
      "bearerAuth": []
     },
     {
      "aisle_session": []
     }
    ],
    "parameters": [
     {
      "$ref": "#/components/parameters/OrderId"
     }
    ],
    "responses": {
     "200": {
      "description": "The events",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/OrderEvents"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "401": {
      "$ref": "#/components/responses/NoSession"
     },
     "404": {
      "$ref": "#/components/responses/OrderNotFound"
     },
     "503": {
      "$ref": "#/components/responses/StoreUnavailable"
     }
    }
   }
  },
  "/api/v1/orders/{id}/payment": {
   "post": {
    "summary": "Record the payment: pending to paid (the shop's payment webhook; payment itself happens outside Aisle)",
    "security": [
     {
      "bearer": []
     }
    ],
    "parameters": [
     {
      "$ref": "#/components/parameters/OrderId"
     }
    ],
    "requestBody": {
     "required": false,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/OrderPayment"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "The order after the change (actor shop)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Order"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "401": {
      "$ref": "#/components/responses/Error"
     },
     "403": {
      "$ref": "#/components/responses/Error"
     },
     "404": {
      "$ref": "#/components/responses/OrderNotFound"
     },
     "409": {
      "$ref": "#/components/responses/TransitionRefused"
     },
     "413": {
      "$ref": "#/components/responses/Error"
     },
     "503": {
      "$ref": "#/components/responses/StoreUnavailable"
     }
    }
   }
  },
  "/api/v1/orders/{id}/shipment": {
   "post": {
    "summary": "Record the shipment: paid to shipped",
    "security": [
     {
      "bearer": []
     }
    ],
    "parameters": [
     {
      "$ref": "#/components/parameters/OrderId"
     }
    ],
    "requestBody": {
     "required": false,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/OrderShipment"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "The order after the change (actor shop)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Order"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "401": {
      "$ref": "#/components/responses/Error"
     },
     "403": {
      "$ref": "#/components/responses/Error"
     },
     "404": {
      "$ref": "#/components/responses/OrderNotFound"
     },
     "409": {
      "$ref": "#/components/responses/TransitionRefused"
     },
     "413": {
      "$ref": "#/components/responses/Error"
     },
     "503": {
      "$ref": "#/components/responses/StoreUnavailable"
     }
    }
   }
  },
  "/api/v1/orders/{id}/delivery": {
   "post": {
    "summary": "Record the delivery: shipped to delivered",
    "security": [
     {
      "bearer": []
     }
    ],
    "parameters": [
     {
      "$ref": "#/components/parameters/OrderId"
     }
    ],
    "requestBody": {
     "required": false,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "additionalProperties": false,
        "description": "{} or no body"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "The order after the change (actor shop)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Order"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "401": {
      "$ref": "#/components/responses/Error"
     },
     "403": {
      "$ref": "#/components/responses/Error"
     },
     "404": {
      "$ref": "#/components/responses/OrderNotFound"
     },
     "409": {
      "$ref": "#/components/responses/TransitionRefused"
     },
     "413": {
      "$ref": "#/components/responses/Error"
     },
     "503": {
      "$ref": "#/components/responses/StoreUnavailable"
     }
    }
   }
  },
  "/api/v1/orders/{id}/cancel": {
   "post": {
    "summary": "Cancel the session's customer's order: pending or paid to canceled; its stock goes back on the shelf",
    "security": [
     {
      "bearerAuth": []
     },
     {
      "aisle_session": []
     }
    ],
    "parameters": [
     {
      "$ref": "#/components/parameters/OrderId"
     }
    ],
    "requestBody": {
     "required": false,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/OrderCancel"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "The canceled order",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Order"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "401": {
      "$ref": "#/components/responses/NoSession"
     },
     "404": {
      "$ref": "#/components/responses/OrderNotFound"
     },
     "409": {
      "$ref": "#/components/responses/TransitionRefused"
     },
     "413": {
      "$ref": "#/components/responses/Error"
     },
     "503": {
      "$ref": "#/components/responses/StoreUnavailable"
     }
    }
   }
  },
  "/api/v1/inventory/{product_id}": {
   "get": {
    "summary": "A product's stock: available, reserved, sellable",
    "parameters": [
     {
      "$ref": "#/components/parameters/InventoryProductId"
     }
    ],
    "responses": {
     "200": {
      "description": "The stock (a product without a stock row has none: all 0)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/StockLevel"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "404": {
      "description": "No product with this id",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "503": {
      "$ref": "#/components/responses/StoreUnavailable"
     }
    }
   },
   "put": {
    "summary": "Set a product's available stock (the shop counted its shelf or received goods)",
    "description": "The change is one row of the stock_movements ledger with the given reason. Stock reaches search (in_stock) through the catalog's change log within about a second.",
    "security": [
     {
      "bearer": []
     }
    ],
    "parameters": [
     {
      "$ref": "#/components/parameters/InventoryProductId"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/StockUpdate"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "The stock after the change",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/StockLevel"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/Error"
     },
     "401": {
      "$ref": "#/components/responses/Error"
     },
     "403": {
      "$ref": "#/components/responses/Error"
     },
     "404": {
      "description": "No product with this id",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        }
       }
      }
     },
     "409": {
      "description": "stale_stock: if_available names another figure than the current one (available); nothing was changed",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/OrderError"
        },
        "example": {
         "error": "stale_stock",
         "message": "the stock changed: available is now 100",
         "available": 100
        }
       }
      }
     },
     "413": {
      "$ref": "#/components/responses/Error"
     },
     "503": {
      "$ref": "#/components/responses/StoreUnavailable"
     }
    }
   }
  },
  "/": {
   "get": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "The storefront page for browsers (Accept: text/html); cluster information (name, cluster_name, version.number 8.x, tagline) for Elasticsearch clients",
    "description": "A request that accepts text/html gets the storefront (HTML, with a Content-Security-Policy). Any other request, with aisle serve --data DIR, gets Elasticsearch's cluster information, which clients read to check the server.",
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   },
   "head": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Cluster is up",
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   }
  },
  "/{index}": {
   "put": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Create an index from Elasticsearch settings and mappings",
    "description": "Mappings map onto an Aisle schema (README, Using Elasticsearch/OpenSearch clients); settings that only tune a cluster are listed under ignored; anything Aisle cannot honour is a 400 naming it.",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     }
    ],
    "requestBody": {
     "$ref": "#/components/requestBodies/ElasticBody"
    },
    "security": [
     {
      "bearer": []
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     },
     "401": {
      "$ref": "#/components/responses/ElasticError"
     },
     "403": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   },
   "head": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Whether the index exists",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "404": {
      "$ref": "#/components/responses/ElasticError"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   },
   "get": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "The index: aliases, mappings, settings",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "404": {
      "$ref": "#/components/responses/ElasticError"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   },
   "delete": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Delete the index and its files",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     }
    ],
    "security": [
     {
      "bearer": []
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "404": {
      "$ref": "#/components/responses/ElasticError"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     },
     "401": {
      "$ref": "#/components/responses/ElasticError"
     },
     "403": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   }
  },
  "/{index}/_mapping": {
   "get": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "The mappings as accepted",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "404": {
      "$ref": "#/components/responses/ElasticError"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   }
  },
  "/_cat/indices": {
   "get": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Indexes with document counts (text; format=json for JSON)",
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   }
  },
  "/_cat/indices/{index}": {
   "get": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "One index with its document count",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "404": {
      "$ref": "#/components/responses/ElasticError"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   }
  },
  "/_refresh": {
   "post": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Make every index's accepted writes searchable",
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   },
   "get": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Make every index's accepted writes searchable",
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   }
  },
  "/{index}/_refresh": {
   "post": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Make the index's accepted writes searchable",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "404": {
      "$ref": "#/components/responses/ElasticError"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   },
   "get": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Make the index's accepted writes searchable",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "404": {
      "$ref": "#/components/responses/ElasticError"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   }
  },
  "/{index}/_doc": {
   "post": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Index a document under a generated id",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     },
     {
      "$ref": "#/components/parameters/ElasticRefresh"
     }
    ],
    "requestBody": {
     "$ref": "#/components/requestBodies/ElasticBody"
    },
    "security": [
     {
      "bearer": []
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "201": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "404": {
      "$ref": "#/components/responses/ElasticError"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     },
     "401": {
      "$ref": "#/components/responses/ElasticError"
     },
     "403": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   }
  },
  "/{index}/_doc/{id}": {
   "put": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Index (create or replace) a document",
    "description": "201 created or 200 updated; ?op_type=create answers 409 if the id exists.",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     },
     {
      "$ref": "#/components/parameters/ElasticDocId"
     },
     {
      "$ref": "#/components/parameters/ElasticRefresh"
     }
    ],
    "requestBody": {
     "$ref": "#/components/requestBodies/ElasticBody"
    },
    "security": [
     {
      "bearer": []
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "201": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "409": {
      "$ref": "#/components/responses/ElasticError"
     },
     "404": {
      "$ref": "#/components/responses/ElasticError"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     },
     "401": {
      "$ref": "#/components/responses/ElasticError"
     },
     "403": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   },
   "post": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Index (create or replace) a document",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     },
     {
      "$ref": "#/components/parameters/ElasticDocId"
     },
     {
      "$ref": "#/components/parameters/ElasticRefresh"
     }
    ],
    "requestBody": {
     "$ref": "#/components/requestBodies/ElasticBody"
    },
    "security": [
     {
      "bearer": []
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "201": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "409": {
      "$ref": "#/components/responses/ElasticError"
     },
     "404": {
      "$ref": "#/components/responses/ElasticError"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     },
     "401": {
      "$ref": "#/components/responses/ElasticError"
     },
     "403": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   },
   "get": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "A document's _source (real-time: unrefreshed writes included)",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     },
     {
      "$ref": "#/components/parameters/ElasticDocId"
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "404": {
      "$ref": "#/components/responses/ElasticError"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   },
   "head": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Whether a document exists",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     },
     {
      "$ref": "#/components/parameters/ElasticDocId"
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "404": {
      "$ref": "#/components/responses/ElasticError"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   },
   "delete": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Delete a document",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     },
     {
      "$ref": "#/components/parameters/ElasticDocId"
     },
     {
      "$ref": "#/components/parameters/ElasticRefresh"
     }
    ],
    "security": [
     {
      "bearer": []
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "404": {
      "$ref": "#/components/responses/ElasticError"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     },
     "401": {
      "$ref": "#/components/responses/ElasticError"
     },
     "403": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   }
  },
  "/{index}/_create/{id}": {
   "put": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Create a document; 409 if the id exists",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     },
     {
      "$ref": "#/components/parameters/ElasticDocId"
     },
     {
      "$ref": "#/components/parameters/ElasticRefresh"
     }
    ],
    "requestBody": {
     "$ref": "#/components/requestBodies/ElasticBody"
    },
    "security": [
     {
      "bearer": []
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "201": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "409": {
      "$ref": "#/components/responses/ElasticError"
     },
     "404": {
      "$ref": "#/components/responses/ElasticError"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     },
     "401": {
      "$ref": "#/components/responses/ElasticError"
     },
     "403": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   },
   "post": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Create a document; 409 if the id exists",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     },
     {
      "$ref": "#/components/parameters/ElasticDocId"
     },
     {
      "$ref": "#/components/parameters/ElasticRefresh"
     }
    ],
    "requestBody": {
     "$ref": "#/components/requestBodies/ElasticBody"
    },
    "security": [
     {
      "bearer": []
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "201": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "409": {
      "$ref": "#/components/responses/ElasticError"
     },
     "404": {
      "$ref": "#/components/responses/ElasticError"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     },
     "401": {
      "$ref": "#/components/responses/ElasticError"
     },
     "403": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   }
  },
  "/{index}/_update/{id}": {
   "post": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Partial update: {\"doc\": {...}} merged into _source (objects deeply), doc_as_upsert, upsert",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     },
     {
      "$ref": "#/components/parameters/ElasticDocId"
     },
     {
      "$ref": "#/components/parameters/ElasticRefresh"
     }
    ],
    "requestBody": {
     "$ref": "#/components/requestBodies/ElasticBody"
    },
    "security": [
     {
      "bearer": []
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "201": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "404": {
      "$ref": "#/components/responses/ElasticError"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     },
     "401": {
      "$ref": "#/components/responses/ElasticError"
     },
     "403": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   }
  },
  "/_bulk": {
   "post": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "NDJSON bulk: index, create, update and delete actions",
    "description": "Answers took, errors and one item per action with its status (and error); a bad item fails alone.",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticRefresh"
     }
    ],
    "requestBody": {
     "$ref": "#/components/requestBodies/ElasticBody"
    },
    "security": [
     {
      "bearer": []
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     },
     "401": {
      "$ref": "#/components/responses/ElasticError"
     },
     "403": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   },
   "put": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "NDJSON bulk (as POST)",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticRefresh"
     }
    ],
    "requestBody": {
     "$ref": "#/components/requestBodies/ElasticBody"
    },
    "security": [
     {
      "bearer": []
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     },
     "401": {
      "$ref": "#/components/responses/ElasticError"
     },
     "403": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   }
  },
  "/{index}/_bulk": {
   "post": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "NDJSON bulk with a default index",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     },
     {
      "$ref": "#/components/parameters/ElasticRefresh"
     }
    ],
    "requestBody": {
     "$ref": "#/components/requestBodies/ElasticBody"
    },
    "security": [
     {
      "bearer": []
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     },
     "401": {
      "$ref": "#/components/responses/ElasticError"
     },
     "403": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   },
   "put": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "NDJSON bulk with a default index (as POST)",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     },
     {
      "$ref": "#/components/parameters/ElasticRefresh"
     }
    ],
    "requestBody": {
     "$ref": "#/components/requestBodies/ElasticBody"
    },
    "security": [
     {
      "bearer": []
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     },
     "401": {
      "$ref": "#/components/responses/ElasticError"
     },
     "403": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   }
  },
  "/{index}/_count": {
   "get": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Count the index's documents matching a query DSL query (all of them without one)",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     }
    ],
    "requestBody": {
     "$ref": "#/components/requestBodies/ElasticBody"
    },
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "404": {
      "$ref": "#/components/responses/ElasticError"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   },
   "post": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Count the index's documents matching a query DSL query (all of them without one)",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     }
    ],
    "requestBody": {
     "$ref": "#/components/requestBodies/ElasticBody"
    },
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "404": {
      "$ref": "#/components/responses/ElasticError"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   }
  },
  "/_search": {
   "get": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Search the only index with the query DSL (with several indexes: 400, name one)",
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   },
   "post": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Search the only index with the query DSL (with several indexes: 400, name one)",
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   }
  },
  "/{index}/_search": {
   "get": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Search with the query DSL: query, post_filter, from, size, sort, search_after, track_total_hits, _source, highlight, aggs",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   },
   "post": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Search with the query DSL: query, post_filter, from, size, sort, search_after, track_total_hits, _source, highlight, aggs",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   }
  },
  "/_msearch": {
   "get": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Several searches in one request: NDJSON header and body lines in pairs; each answers in order, a bad one with its own error",
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   },
   "post": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Several searches in one request: NDJSON header and body lines in pairs; each answers in order, a bad one with its own error",
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   }
  },
  "/{index}/_msearch": {
   "get": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Several searches in one request: NDJSON header and body lines in pairs; each answers in order, a bad one with its own error",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   },
   "post": {
    "tags": [
     "elasticsearch-compatible"
    ],
    "summary": "Several searches in one request: NDJSON header and body lines in pairs; each answers in order, a bad one with its own error",
    "parameters": [
     {
      "$ref": "#/components/parameters/ElasticIndexName"
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/ElasticOk"
     },
     "400": {
      "$ref": "#/components/responses/ElasticError"
     }
    }
   }
  }
 },
 "components": {
  "securitySchemes": {
   "bearer": {
    "type": "http",
    "scheme": "bearer",
    "description": "The token given to aisle serve (--token or AISLE_API_TOKEN). Missing or wrong: 401; none configured: writes answer 403."
   },
   "bearerAuth": {
    "type": "http",
    "scheme": "bearer",
    "description": "A session token from POST /api/v1/sessions (43 characters base64url, 256 random bits): Authorization: Bearer <token>. Missing, unknown or expired: 401. Not the write token of the product endpoints."
   },
   "aisle_session": {
    "type": "apiKey",
    "in": "cookie",
    "name": "aisle_session",
    "description": "The same session token as the cookie POST /api/v1/sessions sets (HttpOnly; SameSite=Strict; Path=/), for browsers."
   }
  },
  "responses": {
   "WriteResult": {
    "description": "Accepted",
    "content": {
     "application/json": {
      "schema": {
       "type": "object",
       "properties": {
        "result": {
         "type": "string",
         "enum": [
          "upserted",
          "updated",
          "deleted"
         ]
        },
        "id": {
         "type": "string"
        }
       }
      }
     }
    }
   },
   "Error": {
    "description": "Error",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   },
   "Busy": {
    "description": "The server is busy (the search queue is full), the search ran past its deadline, or the index could not write (nothing was changed). Retry after the given seconds.",
    "headers": {
     "Retry-After": {
      "schema": {
       "type": "integer"
      },
      "description": "Seconds to wait before retrying"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   },
   "StoreUnavailable": {
    "description": "A commerce store is down or not configured; nothing was changed and search keeps serving: \"cart store unavailable: Redis at 127.0.0.1:6379: Connection refused\", \"customer store unavailable: ...\", \"order store unavailable: ...\" or \"inventory unavailable: ...\" (PostgreSQL) or \"commerce is not configured: ...\" (aisle serve without REDIS_URL / DATABASE_URL). The server reconnects on its own. Also \"the server is busy: ...\" when too many commerce requests are waiting.",
    "headers": {
     "Retry-After": {
      "$ref": "#/components/headers/RetryAfter"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   },
   "NoSession": {
    "description": "No session, an unknown or expired one (or, for customer routes, a guest session)",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   },
   "VersionMismatch": {
    "description": "If-Match names another version than the cart's; nothing was changed",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/VersionConflict"
      }
     }
    }
   },
   "Throttled": {
    "description": "Too many failed logins for this email; retry after the given seconds",
    "headers": {
     "Retry-After": {
      "$ref": "#/components/headers/RetryAfter"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   },
   "OrderNotFound": {
    "description": "No such order, or not the session's customer's (the same answer, so order ids reveal nothing)",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      }
     }
    }
   },
   "TransitionRefused": {
    "description": "Refused; nothing was changed. illegal_transition: the order's status does not allow this change (status, transition; the table: pay pending to paid, ship paid to shipped, deliver shipped to delivered, cancel pending or paid to canceled, expire pending to expired). version_conflict: the order kept changing while the request ran; read it again and retry. When two changes race, one wins and the other is retried on the new state, so nothing is applied twice.",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/OrderError"
      },
      "examples": {
       "illegal_transition": {
        "value": {
         "error": "illegal_transition",
         "message": "an order that is shipped cannot be canceled",
         "status": "shipped",
         "transition": "cancel"
        }
       },
       "version_conflict": {
        "value": {
         "error": "version_conflict",
         "message": "the order kept changing while this request ran; read it again and retry"
        }
       }
      }
     }
    }
   },
   "ElasticError": {
    "description": "Elasticsearch's error shape",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ElasticError"
      }
     }
    }
   },
   "ElasticOk": {
    "description": "ok",
    "content": {
     "application/json": {
      "schema": {
       "type": "object"
      }
     }
    }
   }
  },
  "schemas": {
   "Readiness": {
    "type": "object",
    "required": ["ready"],
    "properties": {
     "ready": {"type": "boolean"},
     "reason": {"type": "string"},
     "catalog_position": {"type": "string", "description": "the change-log position applied"},
     "catalog_committed": {"type": "string", "description": "the position committed with the index"},
     "catalog_at_head_seconds_ago": {"type": "number"},
     "catalog_error": {"type": "string"}
    }
   },
   "CacheStatistics": {
    "type": "object",
    "description": "A cache's figures since the server started: facet_cache keeps per-segment match counts, facet counts and best hits of faceted and sorted searches (serve --facet-cache-mb, default 256); stored_block_cache keeps decompressed stored-field blocks (serve --stored-cache-mb, default 64).",
    "properties": {
     "hits": {"type": "integer"},
     "misses": {"type": "integer"},
     "evictions": {"type": "integer"},
     "entries": {"type": "integer"},
     "bytes": {"type": "integer"},
     "capacity_bytes": {"type": "integer"}
    }
   },
   "Boost": {
    "type": "object",
    "required": [
     "field"
    ],
    "additionalProperties": false,
    "properties": {
     "field": {
      "type": "string"
     },
     "weight": {
      "type": "number"
     },
     "modifier": {
      "type": "string",
      "enum": [
       "none",
       "log1p",
       "sqrt"
      ]
     },
     "missing": {
      "type": "number"
     }
    }
   },
   "BulkReport": {
    "type": "object",
    "properties": {
     "applied": {
      "type": "integer"
     },
     "upserts": {
      "type": "integer"
     },
     "deletes": {
      "type": "integer"
     },
     "sets": {
      "type": "integer"
     },
     "rejected": {
      "type": "boolean"
     },
     "not_found": {
      "type": "array",
      "items": {
       "type": "object",
       "properties": {
        "line": {
         "type": "integer"
        },
        "id": {
         "type": "string"
        }
       }
      }
     },
     "errors": {
      "type": "array",
      "items": {
       "type": "object",
       "properties": {
        "line": {
         "type": "integer"
        },
        "error": {
         "type": "string"
        }
       }
      }
     },
     "stopped_at_line": {
      "type": "integer",
      "description": "The line at which the index could not write; it is in errors, nothing after it was attempted, every earlier line not in errors or not_found was applied"
     },
     "not_attempted": {
      "type": "integer",
      "description": "Non-blank lines after stopped_at_line"
     }
    }
   },
   "Error": {
    "type": "object",
    "required": [
     "error"
    ],
    "properties": {
     "error": {
      "type": "string"
     }
    }
   },
   "Count": {
    "type": "object",
    "properties": {
     "value": {
      "type": "string"
     },
     "count": {
      "type": "integer"
     }
    }
   },
   "Range": {
    "type": "object",
    "properties": {
     "from": {
      "type": "number",
      "nullable": true
     },
     "to": {
      "type": "number",
      "nullable": true
     },
     "count": {
      "type": "integer"
     }
    }
   },
   "AnalyticsQueryRow": {"type": "object", "properties": {"query": {"type": "string"}, "searches": {"type": "integer"}, "zero_results": {"type": "integer"}, "clicks": {"type": "integer"}, "click_through_rate": {"type": "number"}, "mean_click_position": {"type": "number", "nullable": true}, "conversions": {"type": "integer", "description": "purchases in the same session after this query, that day"}, "conversion_rate": {"type": "number"}}},
   "ProductPage": {
    "type": "object",
    "properties": {
     "query_id": {
      "type": "string",
      "description": "This answer's id (a UUID): click events name it. Searches with words are recorded for analytics under it, with the session and device of the X-Aisle-Session and X-Aisle-Device headers."
     },
     "results": {
      "type": "array",
      "items": {
       "type": "object",
       "properties": {
        "id": {
         "type": "string"
        },
        "title": {
         "type": "string"
        },
        "brand": {
         "type": "string",
         "nullable": true
        },
        "price": {
         "type": "number",
         "nullable": true
        },
        "category": {
         "type": "string",
         "nullable": true
        },
        "in_stock": {
         "type": "boolean",
         "nullable": true
        },
        "snippet": {
         "type": "string"
        },
        "score": {
         "type": "number"
        }
       }
      }
     },
     "total": {
      "type": "integer"
     },
     "page": {
      "type": "integer"
     },
     "pages": {
      "type": "integer"
     },
     "facets": {
      "type": "object",
      "properties": {
       "brands": {
        "type": "array",
        "items": {
         "$ref": "#/components/schemas/Count"
        }
       },
       "categories": {
        "type": "object",
        "properties": {
         "path": {
          "type": "array",
          "items": {
           "$ref": "#/components/schemas/Count"
          }
         },
         "children": {
          "type": "array",
          "items": {
           "$ref": "#/components/schemas/Count"
          }
         },
         "other": {
          "type": "integer"
         }
        }
       },
       "price_ranges": {
        "type": "array",
        "items": {
         "$ref": "#/components/schemas/Range"
        }
       }
      }
     },
     "price_stats": {
      "type": "object",
      "properties": {
       "min": {
        "type": "number",
        "nullable": true
       },
       "max": {
        "type": "number",
        "nullable": true
       }
      }
     },
     "took_us": {
      "type": "number"
     },
     "relaxed": {
      "type": "boolean"
     },
     "query_syntax": {
      "type": "string",
      "enum": [
       "lenient"
      ],
      "description": "Present when the query's syntax was broken and its plain words were searched"
     },
     "warnings": {
      "type": "array",
      "items": {
       "type": "string"
      },
      "description": "Soft limits the answer reached (e.g. max_probes)"
     }
    }
   },
   "SearchRequest": {
    "type": "object",
    "additionalProperties": false,
    "properties": {
     "q": {
      "type": "string"
     },
     "operator": {
      "type": "string",
      "enum": [
       "and",
       "or"
      ]
     },
     "limit": {
      "type": "integer",
      "minimum": 0,
      "maximum": 1000
     },
     "offset": {
      "type": "integer",
      "minimum": 0
     },
     "filters": {
      "type": "object",
      "additionalProperties": true,
      "description": "price_min, price_max, brand (string or array), category (path), in_stock, attributes.* ..."
     },
     "facets": {
      "type": "array",
      "items": {
       "oneOf": [
        {
         "type": "string"
        },
        {
         "type": "object",
         "properties": {
          "field": {
           "type": "string"
          },
          "size": {
           "type": "integer"
          },
          "ranges": {
           "type": "array",
           "items": {
            "type": "object",
            "properties": {
             "from": {
              "type": "number"
             },
             "to": {
              "type": "number"
             }
            }
           }
          }
         }
        }
       ]
      }
     },
     "sort": {
      "type": "string"
     },
     "search_after": {
      "type": "array",
      "minItems": 2,
      "maxItems": 2
     },
     "boost": {
      "description": "Numeric ranking signals added to relevance scores: weight * modifier(value).",
      "oneOf": [
       {
        "type": "string"
       },
       {
        "$ref": "#/components/schemas/Boost"
       },
       {
        "type": "array",
        "maxItems": 8,
        "items": {
         "oneOf": [
          {
           "type": "string"
          },
          {
           "$ref": "#/components/schemas/Boost"
          }
         ]
        }
       }
      ]
     },
     "track_total_hits": {
      "oneOf": [
       {
        "type": "boolean"
       },
       {
        "type": "integer"
       }
      ]
     },
     "explain": {
      "type": "boolean",
      "description": "Only for pages of at most max_explain_hits (20) hits"
     },
     "fields": {
      "type": "array",
      "items": {
       "type": "string"
      }
     },
     "syntax": {
      "type": "string",
      "enum": [
       "lenient",
       "strict"
      ],
      "default": "lenient",
      "description": "lenient: broken query syntax searches the plain words; strict: it is a 400 naming the column"
     },
     "ranking": {
      "type": "object",
      "description": "Ranking option overrides; clamped to the server's limits (max_rescore_window, max_proximity_slop, ...)"
     },
     "retrieval": {
      "description": "How candidates are found: lexical (the inverted index), vector (nearest neighbours of the query's embedding) or hybrid (both, fused). Default: hybrid on an index with a vector field, lexical otherwise. Vector and hybrid rank the first `window` results (offset + limit <= window, default 1000; no search_after); total and facets count the union of the lexical matches and the nearest-neighbour list.",
      "oneOf": [
       {
        "type": "string",
        "enum": [
         "lexical",
         "vector",
         "hybrid"
        ]
       },
       {
        "type": "object",
        "properties": {
         "mode": {
          "type": "string",
          "enum": [
           "lexical",
           "vector",
           "hybrid"
          ]
         },
         "fusion": {
          "type": "string",
          "enum": [
           "rrf",
           "linear"
          ],
          "description": "linear (default): (1-w)*lexical/best lexical + w*cosine over both lists' products; rrf: (1-w)/(rrf_k+lexical rank) + w/(rrf_k+vector rank)"
         },
         "rrf_k": {
          "type": "number",
          "minimum": 0,
          "maximum": 10000,
          "default": 60
         },
         "vector_weight": {
          "type": "number",
          "minimum": 0,
          "maximum": 1,
          "description": "w above (default 0.4 for linear, 0.5 for rrf)"
         },
         "window": {
          "type": "integer",
          "minimum": 1,
          "maximum": 1000,
          "default": 1000,
          "description": "The lexical list's length (vector retrieval: the neighbours'); pages end within it (offset + limit <= window)"
         },
         "k": {
          "type": "integer",
          "minimum": 1,
          "maximum": 1000,
          "default": 100,
          "description": "Nearest neighbours fused with the lexical list"
         },
         "num_candidates": {
          "type": "integer",
          "minimum": 1,
          "maximum": 10000,
          "default": 100,
          "description": "HNSW beam width (at least k)"
         },
         "field": {
          "type": "string",
          "description": "The vector field (default: the first)"
         }
        },
        "additionalProperties": false
       }
      ]
     }
    }
   },
   "SearchResponse": {
    "type": "object",
    "properties": {
     "hits": {
      "type": "array",
      "items": {
       "type": "object",
       "properties": {
        "id": {
         "type": "string"
        },
        "score": {
         "type": "number"
        },
        "sort": {
         "type": "array"
        },
        "fields": {
         "type": "object"
        },
        "explanation": {
         "type": "object"
        }
       }
      }
     },
     "total": {
      "type": "integer"
     },
     "total_relation": {
      "type": "string",
      "enum": [
       "eq",
       "gte"
      ]
     },
     "facets": {
      "type": "object",
      "additionalProperties": true
     },
     "took_us": {
      "type": "number"
     },
     "relaxed": {
      "type": "boolean"
     },
     "retrieval": {
      "type": "object",
      "description": "Present for vector and hybrid retrieval: mode, fusion, window, lexical_candidates, vector_candidates, embed_us (microseconds to embed the query; about 1 when it came from the cache)",
      "properties": {
       "mode": {
        "type": "string"
       },
       "fusion": {
        "type": "string"
       },
       "window": {
        "type": "integer"
       },
       "lexical_candidates": {
        "type": "integer"
       },
       "vector_candidates": {
        "type": "integer"
       },
       "embed_us": {
        "type": "number"
       }
      }
     },
     "query_syntax": {
      "type": "string",
      "enum": [
       "lenient"
      ],
      "description": "Present when the query's syntax was broken and its plain words were searched"
     },
     "warnings": {
      "type": "array",
      "items": {
       "type": "string"
      },
      "description": "Soft limits the answer reached (e.g. max_probes)"
     }
    }
   },
   "Address": {
    "type": "object",
    "nullable": true,
    "description": "A shipping address; null when there is none (PATCH with null removes it)",
    "required": [
     "line1",
     "city",
     "postal_code",
     "country"
    ],
    "properties": {
     "name": {
      "type": "string"
     },
     "line1": {
      "type": "string"
     },
     "line2": {
      "type": "string"
     },
     "city": {
      "type": "string"
     },
     "region": {
      "type": "string"
     },
     "postal_code": {
      "type": "string"
     },
     "country": {
      "type": "string"
     }
    }
   },
   "Customer": {
    "type": "object",
    "required": [
     "id",
     "email",
     "name",
     "shipping_address",
     "created_at"
    ],
    "properties": {
     "id": {
      "type": "integer"
     },
     "email": {
      "type": "string",
      "format": "email"
     },
     "name": {
      "type": "string"
     },
     "shipping_address": {
      "$ref": "#/components/schemas/Address"
     },
     "created_at": {
      "type": "string",
      "format": "date-time"
     }
    },
    "example": {
     "id": 12,
     "email": "a@b.example",
     "name": "Ann",
     "shipping_address": null,
     "created_at": "2026-12-05T13:00:00Z"
    }
   },
   "CustomerCreate": {
    "type": "object",
    "required": [
     "email",
     "password",
     "name"
    ],
    "properties": {
     "email": {
      "type": "string",
      "format": "email",
      "description": "Unique, compared case-insensitively (409 when taken)"
     },
     "password": {
      "type": "string",
      "format": "password",
      "description": "Stored only as an argon2id hash"
     },
     "name": {
      "type": "string"
     }
    }
   },
   "CustomerUpdate": {
    "type": "object",
    "description": "Only the given fields change",
    "properties": {
     "name": {
      "type": "string"
     },
     "shipping_address": {
      "$ref": "#/components/schemas/Address"
     }
    }
   },
   "SessionCreate": {
    "type": "object",
    "description": "{} or no body: a new guest session. email and password: log in as that customer; the guest cart of guest_token (or of the aisle_session cookie) is merged into the customer's cart (quantities summed, capped at 99) and is gone afterwards.",
    "properties": {
     "email": {
      "type": "string",
      "format": "email"
     },
     "password": {
      "type": "string",
      "format": "password"
     },
     "guest_token": {
      "type": "string",
      "description": "The guest session whose cart to merge (default: the aisle_session cookie's)"
     }
    }
   },
   "Session": {
    "type": "object",
    "required": [
     "kind",
     "customer_id",
     "expires_at"
    ],
    "properties": {
     "token": {
      "type": "string",
      "pattern": "^[A-Za-z0-9_-]{43}$",
      "description": "256 random bits, base64url; only in the answer of POST /api/v1/sessions (Redis keys the session by its SHA-256)"
     },
     "kind": {
      "type": "string",
      "enum": [
       "guest",
       "customer"
      ]
     },
     "customer_id": {
      "type": "integer",
      "nullable": true
     },
     "expires_at": {
      "type": "string",
      "format": "date-time",
      "description": "Guest sessions: 30 minutes (--guest-session-ttl); customer sessions: 14 days, sliding (--customer-session-ttl)"
     },
     "merged_lines": {
      "type": "integer",
      "description": "Only on a login that merged a guest cart: how many of its lines were merged"
     }
    },
    "example": {
     "token": "q3Vb0xYpZ8mJ2sL5tR7wA1cE4gH6jK9nP0uX2zB3dF5",
     "kind": "customer",
     "customer_id": 12,
     "expires_at": "2026-12-19T13:00:00Z",
     "merged_lines": 3
    }
   },
   "CartItemAdd": {
    "type": "object",
    "required": [
     "product_id",
     "quantity"
    ],
    "properties": {
     "product_id": {
      "type": "string"
     },
     "quantity": {
      "type": "integer",
      "minimum": 1,
      "maximum": 99,
      "description": "Added to the line's quantity (a line over 99: 409)"
     }
    }
   },
   "CartItemUpdate": {
    "type": "object",
    "required": [
     "quantity"
    ],
    "properties": {
     "quantity": {
      "type": "integer",
      "minimum": 0,
      "maximum": 99,
      "description": "The line's new quantity; 0 removes the line"
     }
    }
   },
   "CartLineChange": {
    "type": "object",
    "description": "The changed line and the cart's new version and counts",
    "required": [
     "product_id",
     "quantity",
     "version",
     "item_count",
     "line_count"
    ],
    "properties": {
     "product_id": {
      "type": "string"
     },
     "quantity": {
      "type": "integer",
      "minimum": 0,
      "maximum": 99,
      "description": "0 when the line was removed"
     },
     "version": {
      "type": "integer",
      "description": "The cart's version after the change (also in ETag)"
     },
     "item_count": {
      "type": "integer",
      "description": "Sum of the cart's quantities"
     },
     "line_count": {
      "type": "integer"
     }
    },
    "example": {
     "product_id": "S0001",
     "quantity": 3,
     "version": 7,
     "item_count": 5,
     "line_count": 2
    }
   },
   "CartWarning": {
    "type": "object",
    "required": [
     "code"
    ],
    "properties": {
     "code": {
      "type": "string",
      "enum": [
       "price_changed",
       "out_of_stock",
       "not_enough_stock",
       "unavailable"
      ],
      "description": "price_changed: the price differs from the one when added (was, now); out_of_stock; not_enough_stock: fewer in stock than the quantity (available); unavailable: the product is gone or no longer active (price and subtotal are null)"
     },
     "was": {
      "type": "string",
      "pattern": "^[0-9]+\\.[0-9]{2,}$",
      "description": "price_changed: the price when added: an exact decimal as a JSON string with at least 2 decimals (never a JSON number: binary floating point cannot hold 0.30 or 19.99 exactly)",
      "example": "10.00"
     },
     "now": {
      "type": "string",
      "pattern": "^[0-9]+\\.[0-9]{2,}$",
      "description": "price_changed: the current price: an exact decimal as a JSON string with at least 2 decimals (never a JSON number: binary floating point cannot hold 0.30 or 19.99 exactly)",
      "example": "12.00"
     },
     "available": {
      "type": "integer",
      "description": "not_enough_stock: how many are in stock"
     }
    }
   },
   "CartLine": {
    "type": "object",
    "required": [
     "product_id",
     "name",
     "quantity",
     "price",
     "subtotal",
     "added_price",
     "warnings"
    ],
    "properties": {
     "product_id": {
      "type": "string"
     },
     "name": {
      "type": "string"
     },
     "quantity": {
      "type": "integer",
      "minimum": 1,
      "maximum": 99
     },
     "price": {
      "type": "string",
      "pattern": "^[0-9]+\\.[0-9]{2,}$",
      "description": "The current price; null when the product is unavailable: an exact decimal as a JSON string with at least 2 decimals (never a JSON number: binary floating point cannot hold 0.30 or 19.99 exactly)",
      "example": "10.00",
      "nullable": true
     },
     "subtotal": {
      "type": "string",
      "pattern": "^[0-9]+\\.[0-9]{2,}$",
      "description": "price x quantity; null when the product is unavailable: an exact decimal as a JSON string with at least 2 decimals (never a JSON number: binary floating point cannot hold 0.30 or 19.99 exactly)",
      "example": "30.00",
      "nullable": true
     },
     "added_price": {
      "type": "string",
      "pattern": "^[0-9]+\\.[0-9]{2,}$",
      "description": "The price when the line was added: an exact decimal as a JSON string with at least 2 decimals (never a JSON number: binary floating point cannot hold 0.30 or 19.99 exactly)",
      "example": "10.00"
     },
     "warnings": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/CartWarning"
      }
     }
    }
   },
   "Cart": {
    "type": "object",
    "required": [
     "items",
     "total",
     "currency",
     "item_count",
     "line_count",
     "version"
    ],
    "properties": {
     "items": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/CartLine"
      }
     },
     "total": {
      "type": "string",
      "pattern": "^[0-9]+\\.[0-9]{2,}$",
      "description": "The sum of the subtotals of the lines whose product is still active: an exact decimal as a JSON string with at least 2 decimals (never a JSON number: binary floating point cannot hold 0.30 or 19.99 exactly)",
      "example": "30.00"
     },
     "currency": {
      "type": "string",
      "example": "USD"
     },
     "item_count": {
      "type": "integer",
      "description": "Sum of the quantities"
     },
     "line_count": {
      "type": "integer",
      "maximum": 100
     },
     "version": {
      "type": "integer",
      "description": "Changes with every change of the cart (also in ETag)"
     }
    },
    "example": {
     "items": [
      {
       "product_id": "S0001",
       "name": "Oak bench",
       "quantity": 3,
       "price": "10.00",
       "subtotal": "30.00",
       "added_price": "10.00",
       "warnings": []
      },
      {
       "product_id": "S0002",
       "name": "Floor lamp",
       "quantity": 2,
       "price": null,
       "subtotal": null,
       "added_price": "24.50",
       "warnings": [
        {
         "code": "unavailable"
        }
       ]
      }
     ],
     "total": "30.00",
     "currency": "USD",
     "item_count": 5,
     "line_count": 2,
     "version": 7
    }
   },
   "CartCleared": {
    "type": "object",
    "required": [
     "version",
     "item_count",
     "line_count"
    ],
    "properties": {
     "version": {
      "type": "integer"
     },
     "item_count": {
      "type": "integer",
      "enum": [
       0
      ]
     },
     "line_count": {
      "type": "integer",
      "enum": [
       0
      ]
     }
    }
   },
   "VersionConflict": {
    "type": "object",
    "required": [
     "error",
     "version"
    ],
    "properties": {
     "error": {
      "type": "string"
     },
     "version": {
      "type": "integer",
      "description": "The cart's current version"
     }
    }
   },
   "ShippingAddress": {
    "type": "object",
    "description": "Where an order goes. Unknown fields: 400.",
    "required": [
     "line1",
     "city",
     "postal_code",
     "country"
    ],
    "additionalProperties": false,
    "properties": {
     "name": {
      "type": "string",
      "nullable": true,
      "description": "1 to 200 characters (trimmed), no control characters"
     },
     "line1": {
      "type": "string",
      "description": "1 to 200 characters (trimmed), no control characters"
     },
     "line2": {
      "type": "string",
      "nullable": true,
      "description": "1 to 200 characters (trimmed), no control characters"
     },
     "city": {
      "type": "string",
      "description": "1 to 200 characters (trimmed), no control characters"
     },
     "region": {
      "type": "string",
      "nullable": true,
      "description": "1 to 200 characters (trimmed), no control characters"
     },
     "postal_code": {
      "type": "string",
      "description": "1 to 200 characters (trimmed), no control characters"
     },
     "country": {
      "type": "string",
      "description": "1 to 200 characters (trimmed), no control characters"
     }
    }
   },
   "OrderCreate": {
    "type": "object",
    "description": "Unknown fields: 400. The lines are the session's cart (per product).",
    "required": [
     "shipping_address",
     "payment_method_id",
     "expected_total"
    ],
    "additionalProperties": false,
    "properties": {
     "shipping_address": {
      "$ref": "#/components/schemas/ShippingAddress"
     },
     "payment_method_id": {
      "type": "string",
      "pattern": "^pm_[A-Za-z0-9_-]{1,125}$",
      "example": "pm_card_visa"
     },
     "expected_total": {
      "type": "string",
      "pattern": "^[0-9]+(\\.[0-9]+)?$",
      "description": "The cart total the buyer saw (the total of GET /api/v1/cart), as an exact decimal string (never a JSON number); compared exactly with the total at the catalog's current prices (409 totals_changed when they differ)",
      "example": "59.98"
     }
    },
    "example": {
     "shipping_address": {
      "name": "Ann",
      "line1": "1 Main St",
      "city": "Springfield",
      "postal_code": "12345",
      "country": "US"
     },
     "payment_method_id": "pm_card_visa",
     "expected_total": "59.98"
    }
   },
   "OrderStatus": {
    "type": "string",
    "enum": [
     "pending",
     "paid",
     "shipped",
     "delivered",
     "canceled",
     "expired"
    ],
    "description": "pending waits for payment (and expires after --order-expiry seconds); paid, shipped and delivered follow one another; canceled (by the customer, from pending or paid) and expired give the stock back"
   },
   "OrderLine": {
    "type": "object",
    "description": "One product of an order, as it was when the order was placed",
    "required": [
     "product_id",
     "title",
     "brand",
     "unit_price",
     "quantity",
     "subtotal"
    ],
    "properties": {
     "product_id": {
      "type": "string"
     },
     "title": {
      "type": "string"
     },
     "brand": {
      "type": "string",
      "nullable": true
     },
     "unit_price": {
      "type": "string",
      "pattern": "^[0-9]+\\.[0-9]{2,}$",
      "description": "The price when the order was placed: an exact decimal as a JSON string with at least 2 decimals (never a JSON number: binary floating point cannot hold 0.30 or 19.99 exactly)",
      "example": "29.99"
     },
     "quantity": {
      "type": "integer",
      "minimum": 1
     },
     "subtotal": {
      "type": "string",
      "pattern": "^[0-9]+\\.[0-9]{2,}$",
      "description": "unit_price x quantity: an exact decimal as a JSON string with at least 2 decimals (never a JSON number: binary floating point cannot hold 0.30 or 19.99 exactly)",
      "example": "59.98"
     }
    }
   },
   "Order": {
    "type": "object",
    "required": [
     "id",
     "customer_id",
     "status",
     "version",
     "currency",
     "total",
     "item_count",
     "lines",
     "shipping_address",
     "payment_method_id",
     "placed_at",
     "expires_at",
     "updated_at",
     "payment_reference",
     "carrier",
     "tracking",
     "cancel_reason"
    ],
    "properties": {
     "id": {
      "type": "integer"
     },
     "customer_id": {
      "type": "integer"
     },
     "status": {
      "$ref": "#/components/schemas/OrderStatus"
     },
     "version": {
      "type": "integer",
      "minimum": 1,
      "description": "The number of its events: 1 when placed, one more with each change"
     },
     "currency": {
      "type": "string",
      "example": "USD"
     },
     "total": {
      "type": "string",
      "pattern": "^[0-9]+\\.[0-9]{2,}$",
      "description": "The sum of the lines' subtotals: an exact decimal as a JSON string with at least 2 decimals (never a JSON number: binary floating point cannot hold 0.30 or 19.99 exactly)",
      "example": "59.98"
     },
     "item_count": {
      "type": "integer",
      "description": "Sum of the quantities"
     },
     "lines": {
      "type": "array",
      "minItems": 1,
      "items": {
       "$ref": "#/components/schemas/OrderLine"
      }
     },
     "shipping_address": {
      "$ref": "#/components/schemas/ShippingAddress"
     },
     "payment_method_id": {
      "type": "string"
     },
     "placed_at": {
      "type": "string",
      "format": "date-time"
     },
     "expires_at": {
      "type": "string",
      "format": "date-time",
      "description": "When the order expires if still unpaid (placed_at + the server's --order-expiry)"
     },
     "updated_at": {
      "type": "string",
      "format": "date-time",
      "description": "The time of its last event"
     },
     "payment_reference": {
      "type": "string",
      "nullable": true,
      "description": "The reference given with the payment"
     },
     "carrier": {
      "type": "string",
      "nullable": true,
      "description": "Given with the shipment"
     },
     "tracking": {
      "type": "string",
      "nullable": true,
      "description": "Given with the shipment"
     },
     "cancel_reason": {
      "type": "string",
      "nullable": true,
      "description": "Canceled: the customer's reason (default \"canceled by the customer\"); expired: \"unpaid after <seconds> s\""
     }
    },
    "example": {
     "id": 123,
     "customer_id": 7,
     "status": "pending",
     "version": 1,
     "currency": "USD",
     "total": "59.98",
     "item_count": 2,
     "lines": [
      {
       "product_id": "S0001",
       "title": "Oak bench",
       "brand": "Acme Living",
       "unit_price": "29.99",
       "quantity": 2,
       "subtotal": "59.98"
      }
     ],
     "shipping_address": {
      "name": "Ann",
      "line1": "1 Main St",
      "line2": null,
      "city": "Springfield",
      "region": null,
      "postal_code": "12345",
      "country": "US"
     },
     "payment_method_id": "pm_card_visa",
     "placed_at": "2026-12-05T13:00:00Z",
     "expires_at": "2026-12-05T13:30:00Z",
     "updated_at": "2026-12-05T13:00:00Z",
     "payment_reference": null,
     "carrier": null,
     "tracking": null,
     "cancel_reason": null
    }
   },
   "OrderSummary": {
    "type": "object",
    "description": "One order in the history (the read model order_summaries)",
    "required": [
     "id",
     "status",
     "version",
     "currency",
     "total",
     "item_count",
     "line_count",
     "first_title",
     "placed_at",
     "updated_at"
    ],
    "properties": {
     "id": {
      "type": "integer"
     },
     "status": {
      "$ref": "#/components/schemas/OrderStatus"
     },
     "version": {
      "type": "integer",
      "minimum": 1
     },
     "currency": {
      "type": "string",
      "example": "USD"
     },
     "total": {
      "type": "string",
      "pattern": "^[0-9]+\\.[0-9]{2,}$",
      "description": "The order's total: an exact decimal as a JSON string with at least 2 decimals (never a JSON number: binary floating point cannot hold 0.30 or 19.99 exactly)",
      "example": "59.98"
     },
     "item_count": {
      "type": "integer",
      "description": "Sum of the quantities"
     },
     "line_count": {
      "type": "integer"
     },
     "first_title": {
      "type": "string",
      "description": "The title of the order's first line"
     },
     "placed_at": {
      "type": "string",
      "format": "date-time"
     },
     "updated_at": {
      "type": "string",
      "format": "date-time"
     }
    }
   },
   "OrderHistory": {
    "type": "object",
    "required": [
     "orders",
     "next_before"
    ],
    "properties": {
     "orders": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/OrderSummary"
      },
      "description": "Newest first"
     },
     "next_before": {
      "type": "integer",
      "nullable": true,
      "description": "When the page is full (limit orders): its last order's id, to send as before for the next page; null otherwise"
     }
    },
    "example": {
     "orders": [
      {
       "id": 123,
       "status": "paid",
       "version": 2,
       "currency": "USD",
       "total": "59.98",
       "item_count": 2,
       "line_count": 1,
       "first_title": "Oak bench",
       "placed_at": "2026-12-05T13:00:00Z",
       "updated_at": "2026-12-05T13:02:10Z"
      }
     ],
     "next_before": null
    }
   },
   "OrderPlacedData": {
    "type": "object",
    "description": "The data of OrderPlaced: the order as placed",
    "required": [
     "customer_id",
     "currency",
     "total",
     "lines",
     "shipping_address",
     "payment_method_id",
     "expires_at"
    ],
    "properties": {
     "customer_id": {
      "type": "integer"
     },
     "currency": {
      "type": "string"
     },
     "total": {
      "type": "string",
      "pattern": "^[0-9]+\\.[0-9]{2,}$",
      "description": "The order's total: an exact decimal as a JSON string with at least 2 decimals (never a JSON number: binary floating point cannot hold 0.30 or 19.99 exactly)",
      "example": "59.98"
     },
     "lines": {
      "type": "array",
      "items": {
       "type": "object",
       "required": [
        "product_id",
        "title",
        "brand",
        "unit_price",
        "quantity"
       ],
       "properties": {
        "product_id": {
         "type": "string"
        },
        "title": {
         "type": "string"
        },
        "brand": {
         "type": "string",
         "nullable": true
        },
        "unit_price": {
         "type": "string",
         "pattern": "^[0-9]+\\.[0-9]{2,}$",
         "description": "The price when the order was placed: an exact decimal as a JSON string with at least 2 decimals (never a JSON number: binary floating point cannot hold 0.30 or 19.99 exactly)",
         "example": "29.99"
        },
        "quantity": {
         "type": "integer",
         "minimum": 1
        }
       }
      }
     },
     "shipping_address": {
      "$ref": "#/components/schemas/ShippingAddress"
     },
     "payment_method_id": {
      "type": "string"
     },
     "expires_at": {
      "type": "string",
      "format": "date-time"
     }
    }
   },
   "OrderChangeData": {
    "type": "object",
    "description": "The data of a later event: only the details given. OrderPaid: reference; OrderShipped: carrier, tracking; OrderCanceled, OrderExpired: reason; OrderDelivered: {}",
    "additionalProperties": false,
    "properties": {
     "reference": {
      "type": "string"
     },
     "carrier": {
      "type": "string"
     },
     "tracking": {
      "type": "string"
     },
     "reason": {
      "type": "string"
     }
    }
   },
   "OrderEvent": {
    "type": "object",
    "required": [
     "version",
     "type",
     "data",
     "occurred_at",
     "actor"
    ],
    "properties": {
     "version": {
      "type": "integer",
      "minimum": 1,
      "description": "1, 2, 3... without gaps"
     },
     "type": {
      "type": "string",
      "enum": [
       "OrderPlaced",
       "OrderPaid",
       "OrderShipped",
       "OrderDelivered",
       "OrderCanceled",
       "OrderExpired"
      ]
     },
     "data": {
      "anyOf": [
       {
        "$ref": "#/components/schemas/OrderPlacedData"
       },
       {
        "$ref": "#/components/schemas/OrderChangeData"
       }
      ]
     },
     "occurred_at": {
      "type": "string",
      "format": "date-time",
      "description": "With microseconds (2026-12-05T23:54:24.989123Z); as as_of it names the order right after this event",
      "example": "2026-12-05T23:54:24.989123Z"
     },
     "actor": {
      "type": "string",
      "pattern": "^(customer:[0-9]+|shop|system:expiry)$",
      "description": "customer:<id> (placed, canceled), shop (the API token: paid, shipped, delivered) or system:expiry"
     }
    }
   },
   "OrderEvents": {
    "type": "object",
    "required": [
     "order_id",
     "events"
    ],
    "properties": {
     "order_id": {
      "type": "integer"
     },
     "events": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/OrderEvent"
      },
      "description": "Oldest first"
     }
    },
    "example": {
     "order_id": 123,
     "events": [
      {
       "version": 1,
       "type": "OrderPlaced",
       "data": {
        "customer_id": 7,
        "currency": "USD",
        "total": "59.98",
        "lines": [
         {
          "product_id": "S0001",
          "title": "Oak bench",
          "brand": "Acme Living",
          "unit_price": "29.99",
          "quantity": 2
         }
        ],
        "shipping_address": {
         "name": "Ann",
         "line1": "1 Main St",
         "line2": null,
         "city": "Springfield",
         "region": null,
         "postal_code": "12345",
         "country": "US"
        },
        "payment_method_id": "pm_card_visa",
        "expires_at": "2026-12-05T13:30:00Z"
       },
       "occurred_at": "2026-12-05T13:00:00.123456Z",
       "actor": "customer:7"
      },
      {
       "version": 2,
       "type": "OrderPaid",
       "data": {
        "reference": "ch_123"
       },
       "occurred_at": "2026-12-05T13:02:10.004210Z",
       "actor": "shop"
      }
     ]
    }
   },
   "OrderPayment": {
    "type": "object",
    "additionalProperties": false,
    "description": "{} or no body is fine",
    "properties": {
     "reference": {
      "type": "string",
      "description": "The payment provider's reference: 1 to 200 characters (trimmed), no control characters",
      "example": "ch_123"
     }
    }
   },
   "OrderShipment": {
    "type": "object",
    "additionalProperties": false,
    "description": "{} or no body is fine",
    "properties": {
     "carrier": {
      "type": "string",
      "description": "1 to 200 characters (trimmed), no control characters",
      "example": "UPS"
     },
     "tracking": {
      "type": "string",
      "description": "1 to 200 characters (trimmed), no control characters",
      "example": "1Z999AA10123456784"
     }
    }
   },
   "OrderCancel": {
    "type": "object",
    "additionalProperties": false,
    "description": "{} or no body is fine",
    "properties": {
     "reason": {
      "type": "string",
      "description": "Default \"canceled by the customer\": 1 to 200 characters (trimmed), no control characters"
     }
    }
   },
   "OrderError": {
    "type": "object",
    "description": "A refused order or stock change: the code as error, a message for people, and the details of the code beside them",
    "required": [
     "error",
     "message"
    ],
    "properties": {
     "error": {
      "type": "string",
      "enum": [
       "cart_empty",
       "totals_changed",
       "out_of_stock",
       "product_unavailable",
       "in_progress",
       "idempotency_key_reused",
       "illegal_transition",
       "version_conflict",
       "stale_stock"
      ]
     },
     "message": {
      "type": "string"
     },
     "total": {
      "type": "string",
      "pattern": "^[0-9]+\\.[0-9]{2,}$",
      "description": "totals_changed: the total at current prices: an exact decimal as a JSON string with at least 2 decimals (never a JSON number: binary floating point cannot hold 0.30 or 19.99 exactly)",
      "example": "61.00"
     },
     "expected_total": {
      "type": "string",
      "pattern": "^[0-9]+\\.[0-9]{2,}$",
      "description": "totals_changed: the expected_total sent: an exact decimal as a JSON string with at least 2 decimals (never a JSON number: binary floating point cannot hold 0.30 or 19.99 exactly)",
      "example": "59.98"
     },
     "currency": {
      "type": "string",
      "description": "totals_changed"
     },
     "product_id": {
      "type": "string",
      "description": "out_of_stock, product_unavailable: the first product in question"
     },
     "available": {
      "type": "integer",
      "minimum": 0,
      "description": "out_of_stock: how many can still be sold (available - reserved); stale_stock: the current available"
     },
     "status": {
      "allOf": [
       {
        "$ref": "#/components/schemas/OrderStatus"
       }
      ],
      "description": "illegal_transition: the order's status"
     },
     "transition": {
      "type": "string",
      "enum": [
       "pay",
       "ship",
       "deliver",
       "cancel",
       "expire"
      ],
      "description": "illegal_transition: the change asked for"
     }
    }
   },
   "StockLevel": {
    "type": "object",
    "required": [
     "product_id",
     "available",
     "reserved",
     "sellable"
    ],
    "properties": {
     "product_id": {
      "type": "string"
     },
     "available": {
      "type": "integer",
      "minimum": 0,
      "description": "On the shelf"
     },
     "reserved": {
      "type": "integer",
      "minimum": 0,
      "description": "Held elsewhere"
     },
     "sellable": {
      "type": "integer",
      "minimum": 0,
      "description": "available - reserved (never below 0): what orders can take"
     }
    },
    "example": {
     "product_id": "S0001",
     "available": 40,
     "reserved": 2,
     "sellable": 38
    }
   },
   "StockUpdate": {
    "type": "object",
    "description": "Unknown fields: 400",
    "required": [
     "available"
    ],
    "additionalProperties": false,
    "properties": {
     "available": {
      "type": "integer",
      "minimum": 0,
      "maximum": 1000000000,
      "description": "The new stock on the shelf"
     },
     "if_available": {
      "type": "integer",
      "minimum": 0,
      "description": "Apply only if available is still this (otherwise 409 stale_stock with the current figure)"
     },
     "reason": {
      "type": "string",
      "minLength": 1,
      "maxLength": 40,
      "pattern": "^[a-z0-9_]{1,40}$",
      "not": {
       "enum": [
        "order",
        "cancel",
        "expire",
        "opening",
        "catalog"
       ]
      },
      "default": "adjustment",
      "description": "The ledger movement's reason (e.g. restock, count, damaged); order, cancel, expire, opening and catalog are the system's own"
     }
    },
    "example": {
     "available": 40,
     "if_available": 8,
     "reason": "restock"
    }
   },
   "ElasticError": {
    "type": "object",
    "properties": {
     "error": {
      "type": "object",
      "properties": {
       "root_cause": {
        "type": "array",
        "items": {
         "type": "object"
        }
       },
       "type": {
        "type": "string"
       },
       "reason": {
        "type": "string"
       }
      }
     },
     "status": {
      "type": "integer"
     }
    }
   }
  },
  "headers": {
   "ETag": {
    "description": "The cart's version, quoted (\"7\"); send it back as If-Match",
    "schema": {
     "type": "string",
     "pattern": "^\"[0-9]+\"$",
     "example": "\"7\""
    }
   },
   "SetSessionCookie": {
    "description": "aisle_session=<token>; Path=/; Max-Age=<session TTL in seconds>; HttpOnly; SameSite=Strict",
    "schema": {
     "type": "string"
    }
   },
   "ClearSessionCookie": {
    "description": "Clears the aisle_session cookie (it expires at once)",
    "schema": {
     "type": "string"
    }
   },
   "RetryAfter": {
    "description": "Seconds to wait before retrying",
    "schema": {
     "type": "integer"
    }
   },
   "OrderLocation": {
    "description": "The new order's URL: /api/v1/orders/{id}",
    "schema": {
     "type": "string",
     "example": "/api/v1/orders/123"
    }
   }
  },
  "parameters": {
   "AnalyticsFrom": {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}, "description": "First day (UTC, yyyy-mm-dd); default 29 days before to"},
   "AnalyticsTo": {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}, "description": "Last day, included; default today (UTC). At most 366 days."},
   "AnalyticsLimit": {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}},
   "IfMatch": {
    "name": "If-Match",
    "in": "header",
    "required": false,
    "description": "The cart version the change is based on (7 or \"7\", as in ETag); when the cart's version differs the change is not made and the answer is 412 with the current version. Without it the change applies to whatever the cart holds.",
    "schema": {
     "type": "string",
     "pattern": "^(\"[0-9]+\"|[0-9]+)$"
    }
   },
   "CartProductId": {
    "name": "product_id",
    "in": "path",
    "required": true,
    "description": "The product id of the cart line",
    "schema": {
     "type": "string"
    }
   },
   "IdempotencyKey": {
    "name": "Idempotency-Key",
    "in": "header",
    "required": true,
    "description": "A new unique string (a UUID) for each order the buyer means to place, 1 to 255 visible ASCII characters; missing or malformed: 400. A client that lost the answer retries with the same key: that never places a second order. Keys are per customer.",
    "schema": {
     "type": "string",
     "minLength": 1,
     "maxLength": 255,
     "pattern": "^[!-~]+$",
     "example": "6f1c2a7e-order-1"
    }
   },
   "OrderId": {
    "name": "id",
    "in": "path",
    "required": true,
    "description": "The order id (anything but a positive whole number: 400)",
    "schema": {
     "type": "integer",
     "minimum": 1
    }
   },
   "InventoryProductId": {
    "name": "product_id",
    "in": "path",
    "required": true,
    "description": "The product id (percent-encoded)",
    "schema": {
     "type": "string"
    }
   },
   "ElasticIndexName": {
    "name": "index",
    "in": "path",
    "required": true,
    "schema": {
     "type": "string"
    },
    "description": "index name (lowercase; not starting with _, - or +)"
   },
   "ElasticDocId": {
    "name": "id",
    "in": "path",
    "required": true,
    "schema": {
     "type": "string"
    }
   },
   "ElasticRefresh": {
    "name": "refresh",
    "in": "query",
    "required": false,
    "schema": {
     "type": "string",
     "enum": [
      "true",
      "false",
      "wait_for",
      ""
     ]
    }
   }
  },
  "requestBodies": {
   "ElasticBody": {
    "required": false,
    "content": {
     "application/json": {
      "schema": {
       "type": "object"
      }
     },
     "application/x-ndjson": {
      "schema": {
       "type": "string"
      }
     }
    }
   }
  }
 },
 "tags": [
  {
   "name": "elasticsearch-compatible",
   "description": "Elasticsearch/OpenSearch-compatible routes at the root paths (aisle serve --data DIR); see the README."
  }
 ]
}
"""#
}
