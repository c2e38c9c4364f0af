/// The OpenAPI 3 description of the HTTP API (served at /api/v1/openapi.json).
enum OpenAPI {
    static let document = #"""
{
 "openapi": "3.0.3",
 "info": {
  "title": "Aisle search API",
  "version": "1",
  "description": "Product search, facets and filters over an Aisle index. Errors answer {\"error\": message} with status 400 (bad input), 401 (missing or wrong bearer token), 403 (writes disabled), 404 (unknown product), 405 (writes to a fixed index), 409 (another process writes this index), 413 (body too large) or 500."
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
     }
    }
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
     }
    }
   },
   "put": {
    "summary": "Add or replace a product (the body is the product, as in the catalog JSONL)",
    "security": [{"bearer": []}],
    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                   {"name": "refresh", "in": "query", "required": false, "description": "true: searchable before the answer (otherwise within the server's --refresh-ms)", "schema": {"type": "boolean"}}],
    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": true}}}},
    "responses": {"200": {"$ref": "#/components/responses/WriteResult"}, "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
                  "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"},
                  "409": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"}}
   },
   "patch": {
    "summary": "Set numeric and boolean fields in place (price, in_stock, stock, rating, popularity...) without re-indexing text",
    "security": [{"bearer": []}],
    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                   {"name": "refresh", "in": "query", "required": false, "description": "true: searchable before the answer (otherwise within the server's --refresh-ms)", "schema": {"type": "boolean"}}],
    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "example": {"price": 12.5, "in_stock": false},
                    "additionalProperties": {"oneOf": [{"type": "number"}, {"type": "boolean"}], "nullable": true}}}}},
    "responses": {"200": {"$ref": "#/components/responses/WriteResult"}, "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
                  "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"},
                  "409": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"}}
   },
   "delete": {
    "summary": "Delete a product",
    "security": [{"bearer": []}],
    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                   {"name": "refresh", "in": "query", "required": false, "description": "true: searchable before the answer (otherwise within the server's --refresh-ms)", "schema": {"type": "boolean"}}],
    "responses": {"200": {"$ref": "#/components/responses/WriteResult"}, "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
                  "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"},
                  "409": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"}}
   }
  },
  "/api/v1/products/_bulk": {
   "post": {
    "summary": "Apply change lines (NDJSON): {\"op\": \"upsert\", ...product}, {\"op\": \"delete\", \"id\": ...}, {\"op\": \"set\", \"id\": ..., \"price\": 12.5}. Bad lines are reported by number and skipped; atomic=true rejects the batch whole (400).",
    "security": [{"bearer": []}],
    "parameters": [{"name": "atomic", "in": "query", "required": false, "schema": {"type": "boolean"}},
                   {"name": "refresh", "in": "query", "required": false, "schema": {"type": "boolean"}}],
    "requestBody": {"required": true, "content": {"application/x-ndjson": {"schema": {"type": "string"}}}},
    "responses": {
     "200": {"description": "What was applied", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BulkReport"}}}},
     "400": {"description": "Rejected (atomic) or bad request", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BulkReport"}}}},
     "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"},
     "409": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"}
    }
   }
  }
 },
 "components": {
  "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "The token given to aisle serve (--token or AISLE_API_TOKEN). Missing or wrong: 401; none configured: writes answer 403."}},
  "responses": {
   "WriteResult": {"description": "Accepted", "content": {"application/json": {"schema": {"type": "object", "properties": {"result": {"type": "string", "enum": ["upserted", "updated", "deleted"]}, "id": {"type": "string"}}}}}},
   "Error": {
    "description": "Error",
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
    "required": ["field"],
    "additionalProperties": false,
    "properties": {
     "field": {"type": "string"},
     "weight": {"type": "number"},
     "modifier": {"type": "string", "enum": ["none", "log1p", "sqrt"]},
     "missing": {"type": "number"}
    }
   },
   "BulkReport": {"type": "object", "properties": {"applied": {"type": "integer"}, "upserts": {"type": "integer"}, "deletes": {"type": "integer"},
                  "sets": {"type": "integer"}, "rejected": {"type": "boolean"},
                  "not_found": {"type": "array", "items": {"type": "object", "properties": {"line": {"type": "integer"}, "id": {"type": "string"}}}},
                  "errors": {"type": "array", "items": {"type": "object", "properties": {"line": {"type": "integer"}, "error": {"type": "string"}}}}}},
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
       {"type": "string"},
       {"$ref": "#/components/schemas/Boost"},
       {"type": "array", "maxItems": 8, "items": {"oneOf": [{"type": "string"}, {"$ref": "#/components/schemas/Boost"}]}}
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
      "type": "boolean"
     },
     "fields": {
      "type": "array",
      "items": {
       "type": "string"
      }
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
     }
    }
   }
  }
 }
}
"""#
}
