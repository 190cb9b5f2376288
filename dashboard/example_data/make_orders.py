"""Write ``orders.json``: a small, deterministic example dataset of web-shop orders.

Run ``python -m dashboard.example_data.make_orders`` to regenerate it; the same seed always
gives the same file, so the file in the repository can be checked against this script.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

OUTPUT_PATH = Path(__file__).resolve().parent / "orders.json"
SEED = 20240601
ORDER_COUNT = 240

PRODUCTS = [
    ("SKU-1001", "Espresso machine", "Kitchen", 249.0),
    ("SKU-1002", "Burr coffee grinder", "Kitchen", 89.0),
    ("SKU-1003", "Cast iron skillet", "Kitchen", 39.5),
    ("SKU-1004", "Chef's knife", "Kitchen", 64.0),
    ("SKU-2001", "Trail running shoes", "Outdoor", 129.0),
    ("SKU-2002", "Two-person tent", "Outdoor", 219.0),
    ("SKU-2003", "Insulated water bottle", "Outdoor", 24.9),
    ("SKU-2004", "Headlamp", "Outdoor", 34.0),
    ("SKU-3001", "Noise-cancelling headphones", "Electronics", 199.0),
    ("SKU-3002", "USB-C charger 65W", "Electronics", 45.0),
    ("SKU-3003", "E-reader", "Electronics", 139.0),
    ("SKU-3004", "Bluetooth speaker", "Electronics", 79.0),
    ("SKU-4001", "Linen bed sheets", "Home", 89.9),
    ("SKU-4002", "Desk lamp", "Home", 42.0),
    ("SKU-4003", "Wool throw blanket", "Home", 69.0),
    ("SKU-5001", "Yoga mat", "Fitness", 35.0),
    ("SKU-5002", "Adjustable dumbbells", "Fitness", 299.0),
    ("SKU-5003", "Resistance bands set", "Fitness", 19.9),
]
CUSTOMERS_BY_COUNTRY = {
    "DE": ["Berlin", "Hamburg", "Munich", "Cologne"],
    "FR": ["Paris", "Lyon", "Marseille"],
    "NL": ["Amsterdam", "Rotterdam", "Utrecht"],
    "ES": ["Madrid", "Barcelona", "Valencia"],
    "IT": ["Milan", "Rome", "Turin"],
    "SE": ["Stockholm", "Gothenburg"],
}
FIRST_NAMES = [
    "Anna",
    "Lukas",
    "Marie",
    "Jonas",
    "Sofia",
    "Luca",
    "Emma",
    "Noah",
    "Elena",
    "Mateo",
    "Clara",
    "Hugo",
    "Ingrid",
    "Oskar",
    "Giulia",
    "Pablo",
    "Lea",
    "Finn",
    "Nora",
    "Milan",
]
LAST_NAMES = [
    "Schmidt",
    "Dubois",
    "de Vries",
    "García",
    "Rossi",
    "Lindqvist",
    "Weber",
    "Martin",
    "Jansen",
    "López",
    "Bianchi",
    "Berg",
    "Fischer",
    "Moreau",
    "Bakker",
    "Romano",
]
SEGMENTS = [("consumer", 70), ("small business", 22), ("enterprise", 8)]
CHANNELS = [("web", 55), ("mobile app", 30), ("marketplace", 10), ("phone", 5)]
PAYMENT_METHODS = [("card", 50), ("paypal", 25), ("invoice", 15), ("bank transfer", 10)]
CARRIERS = ["DHL", "UPS", "PostNL", "Colissimo", "GLS"]
DISCOUNT_CODES = ["SPRING10", "WELCOME5", "VIP20", "FREESHIP"]
NOTES = [
    "Customer asked for delivery after 5pm.",
    "Gift wrapping requested.",
    "Package arrived damaged; replacement sent.",
    "Customer called to change the delivery address.",
    "Left with the neighbour at number 12.",
    "Invoice must show the company VAT number.",
    "Delivery delayed by the carrier because of a strike.",
    "Customer wants to reuse the box for a return.",
]


def _weighted(rng: random.Random, choices: list[tuple[str, int]]) -> str:
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights=weights, k=1)[0]


def _customers(rng: random.Random, count: int) -> list[dict[str, Any]]:
    customers = []
    for number in range(1, count + 1):
        country = rng.choice(sorted(CUSTOMERS_BY_COUNTRY))
        customers.append(
            {
                "customer_id": f"C-{number:04d}",
                "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                "segment": _weighted(rng, SEGMENTS),
                "country": country,
                "city": rng.choice(CUSTOMERS_BY_COUNTRY[country]),
            }
        )
    return customers


def _order(rng: random.Random, number: int, day: date, customer: dict[str, Any]) -> dict[str, Any]:
    items = []
    for sku, product, category, price in rng.sample(PRODUCTS, k=rng.choice([1, 1, 1, 2, 2, 3])):
        items.append(
            {
                "sku": sku,
                "product": product,
                "category": category,
                "quantity": rng.choice([1, 1, 1, 2, 3]),
                "unit_price": price,
            }
        )
    subtotal = sum(item["quantity"] * item["unit_price"] for item in items)
    discount_code = rng.choice(DISCOUNT_CODES) if rng.random() < 0.2 else None
    discount = {"SPRING10": 0.10, "WELCOME5": 0.05, "VIP20": 0.20}.get(discount_code or "", 0.0)
    shipping_cost = 0.0 if discount_code == "FREESHIP" or subtotal >= 150 else rng.choice([4.95, 6.9, 9.5])
    status = _weighted(rng, [("delivered", 68), ("shipped", 12), ("processing", 8), ("cancelled", 6), ("returned", 6)])
    delivered = None
    if status in ("delivered", "returned"):
        delivered = (day + timedelta(days=rng.randint(1, 9))).isoformat()
    order: dict[str, Any] = {
        "order_id": f"ORD-{number:05d}",
        "order_date": day.isoformat(),
        "status": status,
        "channel": _weighted(rng, CHANNELS),
        "customer": dict(customer),
        "items": items,
        "payment": {
            "method": _weighted(rng, PAYMENT_METHODS),
            "currency": "SEK" if customer["country"] == "SE" else "EUR",
        },
        "shipping": {"carrier": rng.choice(CARRIERS), "cost": shipping_cost, "delivered_date": delivered},
        "discount_code": discount_code,
        "total": round(subtotal * (1 - discount) + shipping_cost, 2),
        "rating": rng.randint(1, 5) if status == "delivered" and rng.random() < 0.6 else None,
        "gift": rng.random() < 0.12,
    }
    if rng.random() < 0.15:
        order["notes"] = rng.choice(NOTES)
    return order


def make_orders(seed: int = SEED, count: int = ORDER_COUNT) -> list[dict[str, Any]]:
    """The example orders: ``count`` orders placed over 2024 by a few dozen customers."""
    rng = random.Random(seed)
    customers = _customers(rng, 60)
    start = date(2024, 1, 2)
    days = sorted(start + timedelta(days=rng.randint(0, 364)) for _ in range(count))
    return [_order(rng, 10001 + i, day, rng.choice(customers)) for i, day in enumerate(days)]


def render(orders: list[dict[str, Any]]) -> str:
    """The file's text: one order per line inside a JSON array, stable across runs."""
    lines = ",\n".join("  " + json.dumps(order, ensure_ascii=False, sort_keys=False) for order in orders)
    return "[\n" + lines + "\n]\n"


def main() -> None:
    OUTPUT_PATH.write_text(render(make_orders()), encoding="utf-8")
    print(f"wrote {OUTPUT_PATH}")


if __name__ == "__main__":
    main()
