"""(module under construction)"""
