"""The Deployment controller (controller.py), the rolling update and recreate
plans it carries out (rollout.py), and a Deployment's pure bookkeeping: template
hashes, revisions, surge arithmetic, conditions and status (util.py)."""
