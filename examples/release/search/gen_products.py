#!/usr/bin/env python3
"""Writes the sample shop's product catalogue as Typesense JSON Lines, deterministically.

    python3 gen_products.py 2000 > products.jsonl

The same count always gives the same bytes (a fixed linear congruential generator, no
`random`), so products.jsonl in the repository can be regenerated and diffed.
"""
import json
import sys

CATALOGUE = {
    "outdoor": (["tent", "sleeping bag", "trail running shoe", "headlamp", "backpack", "camp stove",
                 "trekking pole", "rain jacket"], ["ultralight", "2-person", "waterproof", "alpine", "compact"]),
    "kitchen": (["espresso machine", "chef knife", "cast iron skillet", "kettle", "coffee grinder",
                 "dutch oven", "cutting board"], ["stainless", "ceramic", "professional", "burr", "enamelled"]),
    "electronics": (["headphones", "e-reader", "bluetooth speaker", "smartwatch", "power bank",
                     "webcam", "mechanical keyboard"], ["noise-cancelling", "wireless", "4k", "compact", "rgb"]),
    "apparel": (["wool sweater", "denim jacket", "running tights", "beanie", "linen shirt",
                 "down vest"], ["merino", "organic", "slim-fit", "recycled", "oversized"]),
    "home": (["floor lamp", "duvet", "throw blanket", "bookshelf", "desk chair", "plant pot"],
             ["scandinavian", "oak", "ergonomic", "hand-woven", "minimalist"]),
    "sports": (["yoga mat", "kettlebell", "road bike helmet", "tennis racket", "foam roller",
                "climbing harness"], ["non-slip", "adjustable", "carbon", "beginner", "competition"]),
}
BRANDS = ["Alpenglow", "Northwind", "Kestrel", "Blue Fjord", "Ironbark", "Lumen", "Cedar & Co",
          "Voltwerk", "Tidewater", "Summit Supply"]
COLOURS = ["black", "graphite", "forest green", "navy", "sand", "rust", "white"]
TENANTS = ["acme", "globex", "initech"]
BASE_MS = 1_790_000_000_000


class Lcg:
    """Numerical Recipes' LCG: the same sequence on every machine and Python version."""

    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFF

    def next(self, n):
        self.state = (self.state * 1664525 + 1013904223) & 0xFFFFFFFF
        return (self.state >> 8) % n


def product(i, rng):
    category = sorted(CATALOGUE)[rng.next(len(CATALOGUE))]
    nouns, adjectives = CATALOGUE[category]
    noun, adjective = nouns[rng.next(len(nouns))], adjectives[rng.next(len(adjectives))]
    brand = BRANDS[rng.next(len(BRANDS))]
    colour = COLOURS[rng.next(len(COLOURS))]
    return {
        "id": str(i),
        "name": f"{brand} {adjective} {noun}",
        "description": f"A {adjective} {noun} in {colour} from {brand}, for {category} use.",
        "brand": brand,
        "category": category,
        "tags": sorted({adjective, category, colour}),
        "price": 299 + rng.next(49_700),
        "rating": round(1 + rng.next(41) / 10, 1),
        "popularity": rng.next(10_000),
        "stock": rng.next(500),
        "legacy_sku": f"SKU-{category[:3].upper()}-{i:06d}",
        "tenant_id": TENANTS[i % len(TENANTS)],
        "updated_at": BASE_MS + i,
    }


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rng = Lcg(20261207)
    out = sys.stdout
    for i in range(count):
        out.write(json.dumps(product(i, rng), separators=(",", ":"), sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
