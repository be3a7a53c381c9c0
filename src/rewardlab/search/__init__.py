"""The Eureka search: propose reward programs, check and train them, reflect, select; resume; report.

from rewardlab.search import SearchConfig, search, resume
run_dir = search(SearchConfig(task="CartPole-v1", samples=8, iterations=3))
"""

from rewardlab.search.config import SearchConfig
from rewardlab.search.loop import resume, search

__all__ = ["SearchConfig", "resume", "search"]
