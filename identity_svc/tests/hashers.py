"""A cheaper Argon2 for the tests: Django's own hasher with the least work Argon2 allows.

Django's defaults take about a third of a second a hash, and the suite signs in hundreds of times.
Hashes stay `argon2$argon2id$...`, so what the tests check of a stored password still holds; one
test (test_sign_up) checks the service's own hasher settings at full strength.
"""

from django.contrib.auth.hashers import Argon2PasswordHasher


class QuickArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 1
    memory_cost = 8
    parallelism = 1
