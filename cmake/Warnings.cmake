# Warnings for every cairn target; -Werror when CAIRN_WERROR is ON (CI).
set(CAIRN_WARNINGS
  -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
  -Wundef -Wwrite-strings -Wno-unused-parameter)
if(CAIRN_WERROR)
  list(APPEND CAIRN_WARNINGS -Werror)
endif()
