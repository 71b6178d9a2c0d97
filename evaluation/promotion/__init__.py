"""Promotion: the paired comparison with the champion, the verdict, the decision record."""
