"""Product images (issue 28): what an admin's upload costs, renditions included.

- `image_prepare_p50_ms` / `_p95_ms`: checking a 2,000 x 1,500 JPEG by its content and
  encoding its six renditions (WebP and JPEG at three widths) with Pillow, no I/O.
- `image_uploads_per_s`: whole uploads, one after the other, through the image service
  (checks, renditions, six writes to the local object store, the event saved): the rate one
  API worker sustains, since the work is CPU bound and runs in its thread pool.
"""

from __future__ import annotations

import io
import statistics
import time

from PIL import Image

from application.image_renditions import prepare
from application.product_ref import product_of_sku
from bench.config import BenchConfig
from bench.report import Results, log
from bench.servers import Servers
from bench.stats import percentile
from domain.money import Money
from infrastructure.bootstrap import bootstrap
from infrastructure.catalog_media_wiring import catalog_media

SKU = "BENCH-IMG-1"


def _photo(seed: int, width: int = 2000, height: int = 1500) -> bytes:
    """A distinct photo-like JPEG per seed (a gradient and noise: encoders have work)."""
    gradient = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 40 + seed % 20)
    image = Image.merge("RGB", (gradient, noise, gradient.rotate(seed % 360)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def bench_images(config: BenchConfig, servers: Servers, results: Results) -> None:
    section = servers.section("images")
    container = bootstrap(section.settings())
    try:
        container.services.catalog.register_stock_item(
            sku=SKU,
            name="Camiseta de algodão orgânico",
            description="bench",
            category="vestuario",
            price=Money.brl("89.90"),
            initial_quantity=1,
            sustainability={},
        )
        count = 4 if config.quick else 20
        photos = [_photo(i) for i in range(count + 1)]
        prepare(photos[-1], "image/jpeg")  # warm the codecs
        times = []
        for data in photos[:count]:
            start = time.perf_counter()
            prepare(data, "image/jpeg")
            times.append((time.perf_counter() - start) * 1000)
        results.set("image_prepare_p50_ms", round(statistics.median(times), 1))
        results.set("image_prepare_p95_ms", round(percentile(times, 95), 1))
        images = catalog_media(container).images
        product_id = product_of_sku(container.services.store, SKU)
        start = time.perf_counter()
        for i, data in enumerate(photos[:count]):
            images.add_image(product_id, data, "image/jpeg", f"Foto {i} da camiseta")
        rate = count / (time.perf_counter() - start)
        results.set("image_uploads_per_s", round(rate, 2))
        log(f"image uploads {rate:.2f}/s; prepare p95 {results.get('image_prepare_p95_ms')} ms")
    finally:
        container.close()
