"""The resource quota controller: keeps each ResourceQuota's status (hard and used)
equal to its spec and the namespace's live objects."""
