"""The organisation area: partner organisations (共建单位), the admission cycle of members
(准入、公示、考核、退出), building groups and grid workers as staff change them, boundary
versions and the public notice board (公示栏)."""
