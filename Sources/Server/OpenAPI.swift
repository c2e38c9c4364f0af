/// The OpenAPI 3 description of the HTTP API (served at /api/v1/openapi.json).
enum OpenAPI {
    static let document = #"""
{
 "openapi": "3.0.3",
 "info": {
  "title": "Aisle search API",
  "version": "1",
  "description": "Product search, facets and filters over an Aisle index. Errors answer {\"error\": message} with status 400 (bad input, including a query over its limits), 401 (missing or wrong bearer token), 403 (writes disabled), 404 (unknown product), 405 (writes to a fixed index), 409 (another process writes this index), 413 (body too large) or 503 with Retry-After (the search queue is full, a search ran past its deadline, or the index could not write). Search is lenient about query syntax unless the request says \"syntax\": \"strict\"."
 },
 "paths": {
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
    "description": "Never fails on query syntax: a broken query (unclosed quote or parenthesis, dangling AND, unknown field:) searches its plain words and the answer says \"query_syntax\": \"lenient\". Limits (2,000 bytes, 256 parts, 32 levels of parentheses, 8 prefix words) answer 400 naming the limit."
   }
  },
  "/api/v1/search": {
   "post": {
    "summary": "Search with the query JSON (as aisle search --stdin)",
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
  }
 },
 "components": {
  "securitySchemes": {
   "bearer": {
    "type": "http",
    "scheme": "bearer",
    "description": "The token given to aisle serve (--token or AISLE_API_TOKEN). Missing or wrong: 401; none configured: writes answer 403."
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
   }
  },
  "schemas": {
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
   "ProductPage": {
    "type": "object",
    "properties": {
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
   }
  }
 }
}
"""#
}
