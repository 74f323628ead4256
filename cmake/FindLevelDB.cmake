# LevelDB ships no pkg-config file on Debian: find leveldb/c.h and the library.
find_path(LevelDB_INCLUDE_DIR leveldb/c.h)
find_library(LevelDB_LIBRARY NAMES leveldb)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(LevelDB REQUIRED_VARS LevelDB_LIBRARY LevelDB_INCLUDE_DIR)
if(LevelDB_FOUND AND NOT TARGET LevelDB::LevelDB)
  add_library(LevelDB::LevelDB UNKNOWN IMPORTED)
  set_target_properties(LevelDB::LevelDB PROPERTIES
    IMPORTED_LOCATION "${LevelDB_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LevelDB_INCLUDE_DIR}")
endif()
