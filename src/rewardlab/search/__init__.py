"""The Eureka search: propose reward programs, check and train them, reflect, select; resume.

The public entry points are in `rewardlab.api`, which runs the loop and then builds the report:

    from rewardlab.api import search
    from rewardlab.search import SearchConfig
    run_dir = search(SearchConfig(task="CartPole-v1", samples=8, iterations=3))
"""

from rewardlab.search.config import SearchConfig

__all__ = ["SearchConfig"]
