SELECT method.name AS name, method.version AS version, method.family AS family, method.value_min AS value_min, method.value_max AS value_max, method.higher_is_more AS higher_is_more, method.description AS description, method.id AS id 
FROM method ORDER BY method.name COLLATE "C", method.id 
 LIMIT %(param_1)s::INTEGER
-- parameters: {'param_1': 10001}
