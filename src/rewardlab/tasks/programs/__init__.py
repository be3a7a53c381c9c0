"""Built-in reward programs, stored as source files and read as text (see `rewardlab.tasks.classic`)."""
