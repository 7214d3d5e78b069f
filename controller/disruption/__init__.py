"""The disruption controller (controller.py) and its pure arithmetic (budget.py): each
PodDisruptionBudget's status, which the eviction API spends."""
