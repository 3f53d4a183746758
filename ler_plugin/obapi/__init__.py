"""The 1EdTech Open Badges 3.0 API (OB 3.0 section 6) hosted for each district: OAuth 2.0 clients a
teacher authorises, the tokens they hold, and what the API reads and writes in the wallet."""
