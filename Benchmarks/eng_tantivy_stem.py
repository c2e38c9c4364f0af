"""tantivy with English stemming and fuzzy terms (1 edit), for pair runs against Aisle's shipped
configuration (`Benchmarks/shipped_vs_tantivy.py`). Same fields, boosts, filters and facets as
`../shared/bench/eng_tantivy.py`; the text fields use tantivy's `en_stem` tokenizer (lower case,
Snowball English), and the query goes through tantivy's QueryParser with every text field fuzzy
(distance 1, transpositions cost 1), as the relevance anchor in RELEVANCE.md ("tantivy 0.27, English
stemming, fuzzy (1 edit)"). Words are `+`-required for AND and optional for OR.
"""
import os
import sys

import tantivy

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "..", "shared", "bench")))
from common import BOOST, Result, cat_filter, price_bounds_cents, read_corpus  # noqa: E402

NAME = "tantivy-stem-fuzzy"
TEXT_FIELDS = ["title", "brand_text", "category_text", "description"]
FIELD_BOOSTS = {"title": BOOST["title"], "brand_text": BOOST["brand"], "category_text": BOOST["category"],
                "description": BOOST["description"]}


def version():
    return getattr(tantivy, "__version__", "?")


def schema():
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
    for f in TEXT_FIELDS:
        sb.add_text_field(f, stored=False, tokenizer_name="en_stem")
    for f in ("brand", "cat1", "cat2", "cat3"):
        sb.add_text_field(f, stored=False, fast=True, tokenizer_name="raw", index_option="basic")
    sb.add_unsigned_field("price_cents", stored=False, indexed=True, fast=True)
    return sb.build()


def build(corpus, index_dir, limit=None, threads=1, heap=1_000_000_000):
    idx = tantivy.Index(schema(), path=index_dir)
    w = idx.writer(heap, threads)
    for d in read_corpus(corpus, limit):
        doc = tantivy.Document(
            id=d["id"], title=d["title"], description=d["description"],
            brand_text=d["brand_text"], category_text=d["category_text"],
            brand=d["brand"], cat1=d["cat1"], cat2=d["cat2"], cat3=d["cat3"])
        doc.add_unsigned("price_cents", d["price_cents"])
        w.add_document(doc)
    w.commit()
    w.wait_merging_threads()
    idx.reload()
    return {"segments": idx.searcher().num_segments}


class Searcher:
    def __init__(self, index_dir):
        self.index = tantivy.Index.open(index_dir)
        self.schema = self.index.schema
        self.searcher = self.index.searcher()

    def search(self, terms, mode="and", filters=None, facets=False, k=10):
        # Synth query terms are [a-z0-9]+ runs: nothing to escape for the query language.
        text = " ".join(("+" + t if mode == "and" else t) for t in terms)
        q = self.index.parse_query(text, TEXT_FIELDS, FIELD_BOOSTS, {f: (False, 1, True) for f in TEXT_FIELDS})
        if filters:
            must = [(tantivy.Occur.Must, q)]
            lo, hi = price_bounds_cents(filters)
            if lo is not None or hi is not None:
                rq = tantivy.Query.range_query(self.schema, "price_cents", tantivy.FieldType.Unsigned, lo, hi)
                must.append((tantivy.Occur.Must, tantivy.Query.const_score_query(rq, 0.0)))
            if filters.get("brand"):
                must.append((tantivy.Occur.Must, tantivy.Query.const_score_query(
                    tantivy.Query.term_query(self.schema, "brand", filters["brand"]), 0.0)))
            cf = cat_filter(filters)
            if cf:
                must.append((tantivy.Occur.Must, tantivy.Query.const_score_query(
                    tantivy.Query.term_query(self.schema, cf[0], cf[1]), 0.0)))
            q = tantivy.Query.boolean_query(must)
        s = self.searcher
        res = s.search(q, k, count=False)
        return Result([s.doc(addr)["id"][0] for _score, addr in res.hits])

    def close(self):
        self.searcher = None
        self.index = None
