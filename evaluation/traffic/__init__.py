"""Reference-free evaluation on unlabelled traffic: estimated accuracy, confidence, class mix."""
