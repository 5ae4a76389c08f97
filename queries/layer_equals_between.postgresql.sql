SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, CAST(nullif(s0.vals[(neuron.unit %% %(unit_1)s::INTEGER + %(param_1)s::INTEGER)], CAST(%(param_2)s::VARCHAR AS REAL)) AS FLOAT) AS v0 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score_vector AS s0 ON s0.set_id = %(set_id_1)s::INTEGER AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / %(unit_2)s::INTEGER 
WHERE neuron.model_id = %(model_id_1)s::INTEGER AND neuron.layer = %(layer_1)s::INTEGER AND neuron.site = %(site_1)s::VARCHAR AND CAST(nullif(s0.vals[(neuron.unit %% %(unit_1)s::INTEGER + %(param_1)s::INTEGER)], CAST(%(param_2)s::VARCHAR AS REAL)) AS FLOAT) BETWEEN %(param_3)s AND %(param_4)s ORDER BY model.name COLLATE "C", neuron.site COLLATE "C", neuron.layer, neuron.unit 
 LIMIT %(param_5)s::INTEGER
-- parameters: {'unit_1': 256, 'param_1': 1, 'param_2': 'NaN', 'set_id_1': 187, 'unit_2': 256, 'model_id_1': 2, 'layer_1': 3, 'site_1': 'mlp', 'param_3': 0.25, 'param_4': 0.75, 'param_5': 101}
-- score sets read:
-- probe(upos:NOUN) of gpt2: run 4, method row 5 {}
