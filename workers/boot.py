"""Setting up one process that runs or sends actors: broker first, then the actors.

`setup` is what Dramatiq's command line calls in each worker process (`workers.boot:setup`);
the sweeper process calls it too. Nothing happens at import.
"""

from __future__ import annotations

import dramatiq

from workers.actors import Actors, declare_actors
from workers.broker import declare_queues, make_broker
from workers.config import WorkerConfig
from workers.runtime import Runtime


def boot(config: WorkerConfig) -> Actors:
    """Make the broker for `config`, set it as Dramatiq's global broker, then declare the
    actors on it (in that order, explicitly)."""
    broker = make_broker(config.broker_url)
    dramatiq.set_broker(broker)
    return declare_actors(broker, Runtime(config))


def setup() -> None:
    """Dramatiq's broker callable: boot this worker process from the config `gridsteward
    worker` exported (workers.config), and create its queues before it consumes them."""
    boot(WorkerConfig.from_env())
    declare_queues(dramatiq.get_broker())
