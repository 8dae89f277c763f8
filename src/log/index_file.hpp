// placeholder: the index helper defines IndexFile here.
#pragma once
namespace brook::log { class IndexFile; }
