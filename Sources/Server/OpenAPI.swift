/// The OpenAPI 3 description of the HTTP API (served at /api/v1/openapi.json).
enum OpenAPI {
    static let document = #"""
{
 "openapi": "3.0.3",
 "info": {
  "title": "Aisle search API",
  "version": "1",
  "description": "Product search, facets and filters over an Aisle index. Errors answer {\"error\": message} with status 400 (bad input), 404 (unknown product), 413 (body too large) or 500."
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
   }
  }
 },
 "components": {
  "responses": {
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
