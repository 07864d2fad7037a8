print("sandyq")
